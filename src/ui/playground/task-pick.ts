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

/** The stored task id the pick stands for (a typed prompt is stored first). */
export async function resolvePick(db: StudioDb, experimentId: string, pick: TaskPick): Promise<string> {
  if (pick.source === 'typed') return addCustomPrompt(db, experimentId, pick.prompt, pick.kind);
  if (!pick.taskId) throw new AppError('bad-input', 'Choose a task first (or type a prompt).');
  return pick.taskId;
}
