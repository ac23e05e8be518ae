/**
 * How much the browser lets us store, and whether it promised to keep it: `navigator.storage.persist()` is
 * asked once (the answer is remembered in settings), `estimate()` gives usage and quota.
 */
import type { StudioDb } from './db.ts';
import { getSetting, setSetting, SETTING_KEYS } from './settings.ts';

/** The part of `navigator.storage` used here (injectable for tests; any method may be missing). */
export interface StorageManagerLike {
  estimate?(): Promise<{ usage?: number; quota?: number }>;
  persisted?(): Promise<boolean>;
  persist?(): Promise<boolean>;
}

export interface PersistenceAnswer {
  granted: boolean;
  askedAt: number;
}

export interface StorageInfo {
  /** Bytes used by this site, or null when the browser does not say. */
  usage: number | null;
  quota: number | null;
  /** Whether the browser will keep the data under storage pressure; null when unknown. */
  persisted: boolean | null;
  /** The remembered answer to our persist() request, or null if never asked. */
  lastAnswer: PersistenceAnswer | null;
}

function isAnswer(v: unknown): v is PersistenceAnswer {
  return typeof v === 'object' && v !== null && typeof (v as PersistenceAnswer).granted === 'boolean';
}

/** Asks for persistent storage, remembers the answer. Returns it (null when the browser has no such API). */
export async function requestPersistence(db: StudioDb, storage: StorageManagerLike, now = Date.now()): Promise<boolean | null> {
  if (!storage.persist) return null;
  const granted = await storage.persist();
  await setSetting(db, SETTING_KEYS.storagePersistence, { granted, askedAt: now });
  return granted;
}

/** Asks once per browser profile: later calls return the remembered answer without asking again. */
export async function requestPersistenceOnce(db: StudioDb, storage: StorageManagerLike, now = Date.now()): Promise<boolean | null> {
  const previous: unknown = await getSetting(db, SETTING_KEYS.storagePersistence, null);
  if (isAnswer(previous)) return previous.granted;
  return requestPersistence(db, storage, now);
}

export async function getStorageInfo(db: StudioDb, storage: StorageManagerLike): Promise<StorageInfo> {
  const [estimate, persisted, answer] = await Promise.all([
    storage.estimate ? storage.estimate() : Promise.resolve(null),
    storage.persisted ? storage.persisted() : Promise.resolve(null),
    getSetting(db, SETTING_KEYS.storagePersistence, null),
  ]);
  return {
    usage: typeof estimate?.usage === 'number' ? estimate.usage : null,
    quota: typeof estimate?.quota === 'number' ? estimate.quota : null,
    persisted,
    lastAnswer: isAnswer(answer) ? answer : null,
  };
}
