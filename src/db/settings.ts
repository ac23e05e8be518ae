/** App-wide settings: one row per key, JSON values. */
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import type { JsonValue } from './json.ts';

/** Keys in use (add yours here so they stay unique). */
export const SETTING_KEYS = {
  /** { granted: boolean, askedAt: number }: the answer to navigator.storage.persist(). */
  storagePersistence: 'storage.persistence',
} as const;

export async function getSetting<T extends JsonValue>(db: StudioDb, key: string, fallback: T): Promise<T> {
  const row = await db.settings.get(key);
  return row === undefined ? fallback : (row.value as T);
}

export async function setSetting(db: StudioDb, key: string, value: JsonValue): Promise<void> {
  await writeTransaction(db, 'save the setting', [db.settings], () => db.settings.put({ key, value }));
}

export async function deleteSetting(db: StudioDb, key: string): Promise<void> {
  await db.settings.delete(key);
}

export async function listSettings(db: StudioDb): Promise<{ key: string; value: JsonValue }[]> {
  return db.settings.toArray();
}
