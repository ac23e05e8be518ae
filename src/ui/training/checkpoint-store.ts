/**
 * Where training checkpoints live while a run is going: the files the trainer reports every N steps
 * (adapter, optimizer state, position), kept per training run so that a run cut off by a reload can resume
 * from its last checkpoint. In the browser: the origin-private file system (OPFS), outside IndexedDB, because
 * checkpoints are large, short-lived and not part of an experiment's exported data. A run that finishes
 * removes its checkpoint.
 *
 * Layout: checkpoints/<trainingRunId>/<step>/<file> plus checkpoints/<trainingRunId>/latest.json, written
 * last, naming the complete step folder; older step folders are removed after it is written.
 */
import { AppError } from '../../core/errors.ts';

export interface StoredCheckpoint {
  step: number;
  files: Record<string, Uint8Array>;
}

export interface CheckpointStore {
  save(trainingRunId: string, step: number, files: Record<string, Uint8Array>): Promise<void>;
  /** The latest complete checkpoint, or null. */
  load(trainingRunId: string): Promise<StoredCheckpoint | null>;
  /** The latest checkpoint's step without reading its files, or null. */
  latestStep(trainingRunId: string): Promise<number | null>;
  remove(trainingRunId: string): Promise<void>;
}

/** In memory (tests, and browsers without OPFS: checkpoints then last only as long as the page). */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #runs = new Map<string, StoredCheckpoint>();

  async save(id: string, step: number, files: Record<string, Uint8Array>): Promise<void> {
    const copy: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(files)) copy[k] = v.slice();
    this.#runs.set(id, { step, files: copy });
  }

  async load(id: string): Promise<StoredCheckpoint | null> {
    return this.#runs.get(id) ?? null;
  }

  async latestStep(id: string): Promise<number | null> {
    return this.#runs.get(id)?.step ?? null;
  }

  async remove(id: string): Promise<void> {
    this.#runs.delete(id);
  }
}

const SAFE = /^[\w.@:-]{1,200}$/;

function checkName(name: string, what: string): void {
  if (!SAFE.test(name) || name === '.' || name === '..') throw new AppError('internal', `Unusable ${what} for a checkpoint: ${JSON.stringify(name)}.`);
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true });
  const w = await handle.createWritable();
  await w.write(bytes as Uint8Array<ArrayBuffer>);
  await w.close();
}

async function readFile(dir: FileSystemDirectoryHandle, name: string): Promise<Uint8Array> {
  const file = await (await dir.getFileHandle(name)).getFile();
  return new Uint8Array(await file.arrayBuffer());
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ((e as { name?: string }).name === 'NotFoundError' || (e as { name?: string }).name === 'TypeMismatchError');
}

/** OPFS-backed store (Chromium, Firefox, Safari on secure origins). */
export class OpfsCheckpointStore implements CheckpointStore {
  readonly #root: () => Promise<FileSystemDirectoryHandle>;

  constructor(root: () => Promise<FileSystemDirectoryHandle> = () => navigator.storage.getDirectory()) {
    this.#root = root;
  }

  async #runDir(id: string, create: boolean): Promise<FileSystemDirectoryHandle | null> {
    checkName(id, 'run id');
    try {
      const base = await (await this.#root()).getDirectoryHandle('checkpoints', { create });
      return await base.getDirectoryHandle(id, { create });
    } catch (e) {
      if (!create && isNotFound(e)) return null;
      throw e;
    }
  }

  async save(id: string, step: number, files: Record<string, Uint8Array>): Promise<void> {
    const run = (await this.#runDir(id, true))!;
    const stepName = String(step);
    const dir = await run.getDirectoryHandle(stepName, { create: true });
    const names = Object.keys(files);
    for (const name of names) {
      checkName(name, 'file name');
      await writeFile(dir, name, files[name]);
    }
    await writeFile(run, 'latest.json', new TextEncoder().encode(JSON.stringify({ step, files: names })));
    for await (const [name] of run.entries()) {
      if (name !== 'latest.json' && name !== stepName) await run.removeEntry(name, { recursive: true });
    }
  }

  async #latest(run: FileSystemDirectoryHandle): Promise<{ step: number; files: string[] } | null> {
    try {
      const meta = JSON.parse(new TextDecoder().decode(await readFile(run, 'latest.json'))) as { step?: unknown; files?: unknown };
      if (typeof meta.step !== 'number' || !Array.isArray(meta.files)) return null;
      return { step: meta.step, files: meta.files.filter((f): f is string => typeof f === 'string') };
    } catch (e) {
      if (isNotFound(e) || e instanceof SyntaxError) return null;
      throw e;
    }
  }

  async latestStep(id: string): Promise<number | null> {
    const run = await this.#runDir(id, false);
    return run ? ((await this.#latest(run))?.step ?? null) : null;
  }

  async load(id: string): Promise<StoredCheckpoint | null> {
    const run = await this.#runDir(id, false);
    if (!run) return null;
    const meta = await this.#latest(run);
    if (!meta) return null;
    const dir = await run.getDirectoryHandle(String(meta.step));
    const files: Record<string, Uint8Array> = {};
    for (const name of meta.files) files[name] = await readFile(dir, name);
    return { step: meta.step, files };
  }

  async remove(id: string): Promise<void> {
    checkName(id, 'run id');
    try {
      const base = await (await this.#root()).getDirectoryHandle('checkpoints');
      await base.removeEntry(id, { recursive: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The page's store: OPFS where the browser has it, memory otherwise. */
export function pageCheckpointStore(): CheckpointStore {
  shared ??= typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function' ? new OpfsCheckpointStore() : new MemoryCheckpointStore();
  return shared;
}
let shared: CheckpointStore | null = null;
