/**
 * The Playground's chosen task, kept in the experiment's settings so a reload (or reopening the experiment) shows
 * the same task, and when the model's own search chose it ("show a task the model gets wrong"), the note saying so:
 *
 *   settings.pick = { taskId: string, note: string | null }
 */
import type { JsonObject } from '../../db/types.ts';
import { obj } from '../lib/stored-json.ts';

export interface StoredPick {
  taskId: string;
  /** Why this task was chosen (the showcase search's note), or null for a person's own choice. */
  note: string | null;
}

/** The stored pick, or null when there is none or it is unreadable (the Playground then picks the first task). */
export function readStoredPick(settings: JsonObject): StoredPick | null {
  const o = obj(settings.pick);
  if (!o || typeof o.taskId !== 'string' || o.taskId === '') return null;
  return { taskId: o.taskId, note: typeof o.note === 'string' ? o.note : null };
}

export function writeStoredPick(settings: JsonObject, pick: StoredPick): JsonObject {
  return { ...settings, pick: { taskId: pick.taskId, note: pick.note } };
}
