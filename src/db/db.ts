/**
 * The one Dexie database of the app. `openStudioDb()` opens it (in the page, a worker or Node with
 * fake-indexeddb), refuses a database written by a newer version of the app, and reports when another tab
 * upgrades or deletes it (the connection is then closed; the page must be reloaded).
 */
import { Dexie, type Table } from 'dexie';
import { AppError } from '../core/errors.ts';
import { DB_NAME, SCHEMA_VERSION, STORES_V1, STORES_V2, STORES_V3, upgradeToV2, upgradeToV3 } from './schema.ts';
import type {
  Adapter,
  Experiment,
  Run,
  Sample,
  Setting,
  Step,
  Task,
  TrainingMetricRow,
  TrainingRun,
} from './types.ts';

/** Where IndexedDB comes from: the browser's globals by default, fake-indexeddb in Node tests. */
export interface IdbDeps {
  indexedDB: IDBFactory;
  IDBKeyRange: typeof IDBKeyRange;
}

export class StudioDb extends Dexie {
  declare experiments: Table<Experiment, string>;
  declare tasks: Table<Task, string>;
  declare runs: Table<Run, string>;
  declare steps: Table<Step, string>;
  declare samples: Table<Sample, string>;
  declare trainingRuns: Table<TrainingRun, string>;
  declare trainingMetrics: Table<TrainingMetricRow, [string, number]>;
  declare adapters: Table<Adapter, string>;
  declare settings: Table<Setting, string>;

  constructor(name: string = DB_NAME, deps?: IdbDeps) {
    super(name, deps ? { indexedDB: deps.indexedDB, IDBKeyRange: deps.IDBKeyRange } : undefined);
    this.version(1).stores(STORES_V1);
    this.version(2).stores(STORES_V2).upgrade(upgradeToV2);
    this.version(3).stores(STORES_V3).upgrade(upgradeToV3);
  }

  /** Every table, for transactions that span an experiment's rows. */
  get allTables() {
    return [
      this.experiments,
      this.tasks,
      this.runs,
      this.steps,
      this.samples,
      this.trainingRuns,
      this.trainingMetrics,
      this.adapters,
    ];
  }
}

/** Why the connection was closed under us. */
export type ConnectionLoss = 'upgraded-elsewhere' | 'deleted-elsewhere';

export interface OpenOptions {
  name?: string;
  deps?: IdbDeps;
  /** Another tab opened a newer schema (or deleted the database): this connection is now closed. */
  onConnectionLost?: (why: ConnectionLoss) => void;
  /** This tab wants to upgrade the schema but an older tab keeps the database open. */
  onBlocked?: () => void;
}

export const NEWER_SCHEMA_MESSAGE =
  'This storage was upgraded by a newer version of Self-Refine Studio (probably in another tab). ' +
  'Reload this page to use the newer version; nothing has been lost.';

export async function openStudioDb(options: OpenOptions = {}): Promise<StudioDb> {
  const db = new StudioDb(options.name ?? DB_NAME, options.deps);
  db.on('versionchange', (event: IDBVersionChangeEvent) => {
    // Dexie's default handler would close the connection but reopen it on the next query, silently running
    // this (older) code against a newer schema. Close it for good instead, and let the page ask to reload.
    // (Dexie calls the handlers added last first; returning false skips its default.)
    db.close({ disableAutoOpen: true });
    options.onConnectionLost?.(event.newVersion ? 'upgraded-elsewhere' : 'deleted-elsewhere');
    return false;
  });
  db.on('blocked', () => options.onBlocked?.());
  // Look before opening: Dexie would open a newer database anyway and might even add missing tables to it.
  const factory = options.deps?.indexedDB ?? globalThis.indexedDB;
  const before = await installedVersion(factory, db.name);
  if (before !== null && Math.floor(before / 10) > SCHEMA_VERSION) throw new AppError('schema-newer', NEWER_SCHEMA_MESSAGE);
  try {
    await db.open();
  } catch (e) {
    throw new AppError('internal', `Could not open the browser's storage (IndexedDB): ${errorText(e)}. ` +
      'Check that the browser allows site data for this page (private windows may not), then reload.', { cause: e });
  }
  // Dexie opens a database of a higher version without complaint; this code does not know that schema.
  const installed = Math.floor(db.backendDB().version / 10);
  if (installed > SCHEMA_VERSION) {
    db.close({ disableAutoOpen: true });
    throw new AppError('schema-newer', NEWER_SCHEMA_MESSAGE);
  }
  return db;
}

/** The stored version of a database without opening it (null when unknown or absent). */
async function installedVersion(factory: IDBFactory | undefined, name: string): Promise<number | null> {
  if (!factory || typeof factory.databases !== 'function') return null;
  try {
    const found = (await factory.databases()).find((d) => d.name === name);
    return found?.version ?? null;
  } catch {
    return null;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
