/** Queries on tasks: the prompts an experiment works on, split into train and eval. */
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { JsonObject } from './json.ts';
import type { Task, TaskKind, TaskSplit } from './types.ts';

export interface NewTask {
  prompt: string;
  split?: TaskSplit;
  kind?: TaskKind;
  taskSetId?: string;
  reference?: string | null;
  checker?: JsonObject | null;
}

/** Adds tasks to an experiment in one transaction (all or none), in the given order. */
export async function addTasks(db: StudioDb, experimentId: string, tasks: NewTask[], now = Date.now()): Promise<Task[]> {
  const rows: Task[] = tasks.map((t) => {
    if (!t.prompt.trim()) throw new AppError('bad-input', 'A task has an empty prompt. Give every task a prompt.');
    return {
      id: newId(now),
      experimentId,
      taskSetId: t.taskSetId ?? 'custom',
      kind: t.kind ?? 'open',
      prompt: t.prompt,
      reference: t.reference ?? null,
      checker: t.checker ?? null,
      split: t.split ?? 'train',
      createdAt: now,
    };
  });
  await writeTransaction(db, 'add the tasks', [db.experiments, db.tasks], async () => {
    if (!(await db.experiments.get(experimentId))) {
      throw new AppError('not-found', 'Cannot add tasks: the experiment no longer exists.');
    }
    await db.tasks.bulkAdd(rows);
  });
  return rows;
}

/** An experiment's tasks in the order they were added, optionally only one split. */
export async function listTasks(db: StudioDb, experimentId: string, split?: TaskSplit): Promise<Task[]> {
  const rows = await db.tasks.where('experimentId').equals(experimentId).toArray();
  return split ? rows.filter((t) => t.split === split) : rows;
}

export async function getTask(db: StudioDb, id: string): Promise<Task | undefined> {
  return db.tasks.get(id);
}

export type TaskPatch = Partial<Pick<Task, 'prompt' | 'reference' | 'checker' | 'split'>>;

export async function updateTask(db: StudioDb, id: string, patch: TaskPatch): Promise<void> {
  if (patch.prompt !== undefined && !patch.prompt.trim()) {
    throw new AppError('bad-input', 'The prompt is empty. Type a prompt and try again.');
  }
  const n = await writeTransaction(db, 'save the task', [db.tasks], () => db.tasks.update(id, patch));
  if (n === 0) throw new AppError('not-found', 'That task no longer exists.');
}

/** Deletes a task that no step refers to (steps are history: delete their runs first). */
export async function deleteTask(db: StudioDb, id: string): Promise<void> {
  await db.transaction('rw', db.tasks, db.steps, async () => {
    const task = await db.tasks.get(id);
    if (!task) return;
    const used = await db.steps.where('[experimentId+taskId]').equals([task.experimentId, id]).count();
    if (used > 0) {
      throw new AppError('bad-input', `This task has ${used} saved steps. Delete the runs that used it first.`);
    }
    await db.tasks.delete(id);
  });
}
