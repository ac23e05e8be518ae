/**
 * The task sets a person can add to an experiment: the built-in math, instruction-following and open-ended
 * sets (src/core/tasks), and the toy arithmetic set generated from a seed (src/core/toy): its train split is
 * unlabeled self-evolution questions, its eval split the held-out questions. Adding a set writes its rows in
 * one transaction, skipping prompts the experiment already has from that set.
 */
import { AppError } from '../../core/errors.ts';
import { BUILTIN_TASK_SETS } from '../../core/tasks/builtin.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import { generateToyData } from '../../core/toy/index.ts';
import type { StudioDb } from '../../db/db.ts';
import { addTasks, listTasks } from '../../db/tasks.ts';
import { toNewTask, withoutDuplicates } from './task-rows.ts';
import { TOY_KIND } from './toy-kind.ts';

export interface ToySetOptions {
  seed: number;
  /** Unlabeled questions for self-evolution (train split). */
  train: number;
  /** Held-out questions (eval split). */
  eval: number;
}

export const DEFAULT_TOY_SET: ToySetOptions = { seed: 1, train: 200, eval: 100 };
const MAX_TOY_QUESTIONS = 2000;

export interface TaskSetChoice {
  id: string;
  name: string;
  description: string;
}

export const TASK_SET_CHOICES: readonly TaskSetChoice[] = [
  ...BUILTIN_TASK_SETS.map((s) => ({ id: s.id, name: s.name, description: s.description })),
  {
    id: TOY_KIND,
    name: 'Toy arithmetic',
    description:
      'Additions and subtractions of 3-digit numbers for the embedded toy model, generated from a seed: ' +
      'train = unlabeled self-evolution questions, eval = held-out questions. Checked by the program.',
  },
];

function wholeNumber(v: number, name: string, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new AppError('bad-input', `${name} must be a whole number from 0 to ${max} (got ${String(v)}).`);
  }
  return v;
}

/** The toy set's questions as core tasks (deterministic for a seed). */
export function toyTasks(o: ToySetOptions): CoreTask[] {
  const train = wholeNumber(o.train, 'The number of train questions', MAX_TOY_QUESTIONS);
  const evalCount = wholeNumber(o.eval, 'The number of eval questions', MAX_TOY_QUESTIONS);
  if (train + evalCount === 0) throw new AppError('bad-input', 'Ask for at least one toy question.');
  const data = generateToyData({ seed: o.seed, metaCount: 0, rounds: 1, perRound: train, evalCount });
  const make = (text: string, split: CoreTask['split'], i: number): CoreTask => ({
    id: `toy-${o.seed}-${split}-${i}`,
    kind: TOY_KIND,
    prompt: text,
    split,
    source: 'builtin',
  });
  return [...data.rounds[0].map((q, i) => make(q.text, 'train', i)), ...data.eval.map((q, i) => make(q.text, 'eval', i))];
}

/** The core tasks of a set choice. */
export function tasksOfSet(setId: string, toy: ToySetOptions = DEFAULT_TOY_SET): CoreTask[] {
  if (setId === TOY_KIND) return toyTasks(toy);
  const set = BUILTIN_TASK_SETS.find((s) => s.id === setId);
  if (!set) throw new AppError('not-found', `There is no built-in task set "${setId}". Pick one of: ${TASK_SET_CHOICES.map((c) => c.id).join(', ')}.`);
  return [...set.tasks];
}

/** Adds a set to an experiment; returns how many tasks were added and how many were already there. */
export async function addTaskSet(
  db: StudioDb,
  experimentId: string,
  setId: string,
  toy: ToySetOptions = DEFAULT_TOY_SET,
): Promise<{ added: number; skipped: number }> {
  const incoming = tasksOfSet(setId, toy).map((t) => toNewTask(t, setId));
  const fresh = withoutDuplicates(await listTasks(db, experimentId), incoming);
  if (fresh.length > 0) await addTasks(db, experimentId, fresh);
  return { added: fresh.length, skipped: incoming.length - fresh.length };
}

/** Adds imported core tasks (from importTasks) under the 'import' task set. */
export async function addImportedTasks(db: StudioDb, experimentId: string, tasks: readonly CoreTask[]): Promise<{ added: number; skipped: number }> {
  const incoming = tasks.map((t) => toNewTask(t, 'import'));
  const fresh = withoutDuplicates(await listTasks(db, experimentId), incoming);
  if (fresh.length > 0) await addTasks(db, experimentId, fresh);
  return { added: fresh.length, skipped: incoming.length - fresh.length };
}

/** A prompt typed in the playground, stored as a task of the 'custom' set (reused when the same text exists). */
export async function addCustomPrompt(db: StudioDb, experimentId: string, prompt: string, kind = 'open'): Promise<string> {
  const text = prompt.trim();
  if (text === '') throw new AppError('bad-input', 'Type a prompt first.');
  const existing = (await listTasks(db, experimentId)).find((t) => t.taskSetId === 'custom' && t.prompt === text && t.kind === kind);
  if (existing) return existing.id;
  const [row] = await addTasks(db, experimentId, [{ prompt: text, kind, split: 'train', taskSetId: 'custom' }]);
  return row.id;
}
