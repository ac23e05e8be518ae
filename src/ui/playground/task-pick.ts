/** What the playground's task picker holds: a stored task, or a typed prompt to store as a task on Run. */
import { AppError } from '../../core/errors.ts';
import type { StudioDb } from '../../db/db.ts';
import { addCustomPrompt } from '../tasks/task-sets.ts';

export interface TaskPick {
  source: 'stored' | 'typed';
  taskId: string;
  prompt: string;
  kind: string;
}

export const EMPTY_PICK: TaskPick = { source: 'stored', taskId: '', prompt: '', kind: 'open' };

/** Options listed at once in the picker; the search reaches every other task. */
export const PICKER_LIMIT = 500;

export interface PickerFilter {
  kind: string;
  split: string;
  /** Words the prompt (or id) must contain, any case. */
  query: string;
}

/** The tasks matching the filter (all of them), and the first `limit` to list. */
export function pickerTasks<T extends { id: string; kind: string; split: string; prompt: string }>(tasks: readonly T[], f: PickerFilter, limit = PICKER_LIMIT): { matching: number; shown: T[] } {
  const words = f.query.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = tasks.filter((t) => {
    if ((f.kind && t.kind !== f.kind) || (f.split && t.split !== f.split)) return false;
    const hay = `${t.prompt}\n${t.id}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  return { matching: matches.length, shown: matches.slice(0, limit) };
}

/** The stored task id the pick stands for (a typed prompt is stored first). */
export async function resolvePick(db: StudioDb, experimentId: string, pick: TaskPick): Promise<string> {
  if (pick.source === 'typed') return addCustomPrompt(db, experimentId, pick.prompt, pick.kind);
  if (!pick.taskId) throw new AppError('bad-input', 'Choose a task first (or type a prompt).');
  return pick.taskId;
}
