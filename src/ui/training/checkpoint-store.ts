/**
 * Where training checkpoints live while a run is going: the files the trainer reports (adapter, optimizer
 * state, position), kept per training run so that a run cut off by a reload can resume from its last
 * checkpoint. In the browser: the origin-private file system (OPFS), outside IndexedDB, because checkpoints
 * are large, short-lived and not part of an experiment's exported data. A run that finishes removes its
 * checkpoint; start-up removes those that can no longer be used (checkpoint-cleanup.ts).
 *
 * Layout: checkpoints/<trainingRunId>/<step>/<file> plus checkpoints/<trainingRunId>/latest.json, which names
 * the complete step folder (its step, the run's total steps, every file with its size). A save counts only
 * once every file and then latest.json have been written AND read back equal; a save that fails removes the
 * files it wrote, so the previous good checkpoint (and what latest.json names) stays as it was. Older step
 * folders are removed after latest.json names the new one.
 */
import { AppError } from '../../core/errors.ts';
import { isQuotaError } from '../../db/errors.ts';

/** A complete checkpoint as latest.json describes it. */
export interface CheckpointInfo {
  step: number;
  /** The run's total optimizer steps when it was saved (null when unknown). */
  totalSteps: number | null;
  /** Bytes of its files. */
  bytes: number;
  savedAt: number | null;
}

export interface StoredCheckpoint extends CheckpointInfo {
  files: Record<string, Uint8Array>;
}

/** One run's checkpoint folder: its complete checkpoint (or null) and the bytes it takes, strays included. */
export interface CheckpointFolder {
  trainingRunId: string;
  latest: CheckpointInfo | null;
  bytes: number;
}

export interface CheckpointStore {
  /**
   * Saves a checkpoint and reads it back. Resolves once it counts; throws AppError ('quota-exceeded' when the
   * storage is full) after removing what it wrote, the previous checkpoint kept.
   */
  save(trainingRunId: string, step: number, files: Record<string, Uint8Array>, totalSteps?: number | null): Promise<CheckpointInfo>;
  /** The latest complete checkpoint with its files, or null (none, or its files are missing or damaged). */
  load(trainingRunId: string): Promise<StoredCheckpoint | null>;
  /** The latest complete checkpoint without reading its files, or null. */
  latest(trainingRunId: string): Promise<CheckpointInfo | null>;
  remove(trainingRunId: string): Promise<void>;
  /** Every run folder. */
  list(): Promise<CheckpointFolder[]>;
  /** Removes what the run's folder holds besides its complete checkpoint (left by a failed save); bytes freed. */
  tidy(trainingRunId: string): Promise<number>;
}

function totalBytes(files: Record<string, Uint8Array>): number {
  return Object.values(files).reduce((n, f) => n + f.byteLength, 0);
}

/** The error a failed save throws: quota-exceeded when the storage is full, else 'internal' with the cause. */
export function checkpointSaveError(step: number, cause: unknown): AppError {
  if (cause instanceof AppError && cause.code !== 'internal') return cause;
  if (isQuotaError(cause)) {
    return new AppError('quota-exceeded', `The checkpoint at step ${step} could not be saved: this site's browser storage is full. Free some space (Settings shows what is used).`, { cause });
  }
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AppError('internal', `The checkpoint at step ${step} could not be saved: ${why}`, { cause });
}

/** In memory (tests, and browsers without OPFS: checkpoints then last only as long as the page). */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #runs = new Map<string, StoredCheckpoint>();

  async save(id: string, step: number, files: Record<string, Uint8Array>, totalSteps: number | null = null): Promise<CheckpointInfo> {
    const copy: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(files)) copy[k] = v.slice();
    const info = { step, totalSteps, bytes: totalBytes(copy), savedAt: Date.now() };
    this.#runs.set(id, { ...info, files: copy });
    return info;
  }

  async load(id: string): Promise<StoredCheckpoint | null> {
    return this.#runs.get(id) ?? null;
  }

  async latest(id: string): Promise<CheckpointInfo | null> {
    const c = this.#runs.get(id);
    return c ? { step: c.step, totalSteps: c.totalSteps, bytes: c.bytes, savedAt: c.savedAt } : null;
  }

  async remove(id: string): Promise<void> {
    this.#runs.delete(id);
  }

  async list(): Promise<CheckpointFolder[]> {
    return [...this.#runs].map(([trainingRunId, c]) => ({ trainingRunId, latest: { step: c.step, totalSteps: c.totalSteps, bytes: c.bytes, savedAt: c.savedAt }, bytes: c.bytes }));
  }

  async tidy(): Promise<number> {
    return 0;
  }
}

// The parts of the File System API this store uses (OPFS handles satisfy them; tests pass a double).
export interface OpfsWritable {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}
export interface OpfsFile {
  getFile(): Promise<{ size: number; arrayBuffer(): Promise<ArrayBuffer> }>;
  createWritable(): Promise<OpfsWritable>;
}
export interface OpfsDir {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDir>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFile>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  entries(): AsyncIterable<[string, { kind: 'file' | 'directory' }]>;
}

const SAFE = /^[\w.@:-]{1,200}$/;
const LATEST = 'latest.json';

function checkName(name: string, what: string): void {
  if (!SAFE.test(name) || name === '.' || name === '..' || name === LATEST) throw new AppError('internal', `Unusable ${what} for a checkpoint: ${JSON.stringify(name)}.`);
}

/** Writes a whole file (OPFS writes go to a swap file that replaces the file on close; a failure aborts it). */
async function writeFile(dir: OpfsDir, name: string, bytes: Uint8Array): Promise<void> {
  const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
  try {
    await w.write(bytes as Uint8Array<ArrayBuffer>);
    await w.close();
  } catch (e) {
    await w.abort(e).catch(() => undefined);
    throw e;
  }
}

async function readFile(dir: OpfsDir, name: string): Promise<Uint8Array> {
  const file = await (await dir.getFileHandle(name)).getFile();
  return new Uint8Array(await file.arrayBuffer());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isNotFound(e: unknown): boolean {
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;
  return name === 'NotFoundError' || name === 'TypeMismatchError';
}

interface LatestMeta {
  step: number;
  totalSteps: number | null;
  files: { name: string; bytes: number | null }[];
  savedAt: number | null;
}

/** latest.json → its meta, or null when it is not one (older saves wrote `files` as a list of names). */
export function parseLatest(text: string): LatestMeta | null {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null) return null;
  const m = o as { step?: unknown; totalSteps?: unknown; files?: unknown; savedAt?: unknown };
  if (typeof m.step !== 'number' || !Number.isSafeInteger(m.step) || m.step < 0 || !Array.isArray(m.files) || m.files.length === 0) return null;
  const files: LatestMeta['files'] = [];
  for (const f of m.files as unknown[]) {
    if (typeof f === 'string') files.push({ name: f, bytes: null });
    else if (typeof f === 'object' && f !== null && typeof (f as { name?: unknown }).name === 'string') {
      const bytes = (f as { bytes?: unknown }).bytes;
      files.push({ name: (f as { name: string }).name, bytes: typeof bytes === 'number' ? bytes : null });
    } else return null;
  }
  if (files.some((f) => !SAFE.test(f.name) || f.name === LATEST)) return null;
  const totalSteps = typeof m.totalSteps === 'number' && Number.isSafeInteger(m.totalSteps) ? m.totalSteps : null;
  return { step: m.step, totalSteps, files, savedAt: typeof m.savedAt === 'number' ? m.savedAt : null };
}

const info = (m: LatestMeta): CheckpointInfo => ({ step: m.step, totalSteps: m.totalSteps, bytes: m.files.reduce((n, f) => n + (f.bytes ?? 0), 0), savedAt: m.savedAt });

/** OPFS-backed store (Chromium, Firefox, Safari on secure origins). */
export class OpfsCheckpointStore implements CheckpointStore {
  readonly #root: () => Promise<OpfsDir>;

  constructor(root: () => Promise<OpfsDir> = () => navigator.storage.getDirectory()) {
    this.#root = root;
  }

  async #base(create: boolean): Promise<OpfsDir | null> {
    try {
      return await (await this.#root()).getDirectoryHandle('checkpoints', { create });
    } catch (e) {
      if (!create && isNotFound(e)) return null;
      throw e;
    }
  }

  async #runDir(id: string, create: boolean): Promise<OpfsDir | null> {
    checkName(id, 'run id');
    const base = await this.#base(create);
    if (!base) return null;
    try {
      return await base.getDirectoryHandle(id, { create });
    } catch (e) {
      if (!create && isNotFound(e)) return null;
      throw e;
    }
  }

  async #meta(run: OpfsDir): Promise<LatestMeta | null> {
    try {
      return parseLatest(new TextDecoder().decode(await readFile(run, LATEST)));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** The files latest.json names, each present with its recorded size; null if any is missing or differs. */
  async #files(run: OpfsDir, meta: LatestMeta): Promise<Record<string, Uint8Array> | null> {
    try {
      const dir = await run.getDirectoryHandle(String(meta.step));
      const files: Record<string, Uint8Array> = {};
      for (const f of meta.files) {
        const bytes = await readFile(dir, f.name);
        if (f.bytes !== null && bytes.byteLength !== f.bytes) return null;
        files[f.name] = bytes;
      }
      return files;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async #sizes(run: OpfsDir, meta: LatestMeta): Promise<boolean> {
    try {
      const dir = await run.getDirectoryHandle(String(meta.step));
      for (const f of meta.files) {
        const size = (await (await dir.getFileHandle(f.name)).getFile()).size;
        if (f.bytes !== null ? size !== f.bytes : size === 0) return false;
      }
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async save(id: string, step: number, files: Record<string, Uint8Array>, totalSteps: number | null = null): Promise<CheckpointInfo> {
    const names = Object.keys(files);
    for (const name of names) checkName(name, 'file name');
    if (names.length === 0) throw new AppError('internal', 'A checkpoint without files cannot be saved.');
    const stepName = String(step);
    let run: OpfsDir | null = null;
    let previous: LatestMeta | null = null;
    let wroteLatest = false;
    try {
      run = (await this.#runDir(id, true))!;
      previous = await this.#meta(run);
      if (previous?.step === step) throw new AppError('internal', `A checkpoint of step ${step} is already saved.`);
      const dir = await run.getDirectoryHandle(stepName, { create: true });
      for (const name of names) {
        await writeFile(dir, name, files[name]);
        if (!sameBytes(await readFile(dir, name), files[name])) throw new AppError('internal', `${name} read back different from what was written.`);
      }
      const meta: LatestMeta = { step, totalSteps, files: names.map((name) => ({ name, bytes: files[name].byteLength })), savedAt: Date.now() };
      const text = JSON.stringify(meta);
      wroteLatest = true;
      await writeFile(run, LATEST, new TextEncoder().encode(text));
      if (new TextDecoder().decode(await readFile(run, LATEST)) !== text) throw new AppError('internal', `${LATEST} read back different from what was written.`);
      // It counts from here; removing the older folders can wait for the next tidy if it fails.
      for (const [name] of await entries(run)) {
        if (name !== LATEST && name !== stepName) await run.removeEntry(name, { recursive: true }).catch(() => undefined);
      }
      return info(meta);
    } catch (e) {
      if (run) await this.#undo(run, stepName, previous, wroteLatest);
      throw checkpointSaveError(step, e);
    }
  }

  /** After a failed save: latest.json names the previous checkpoint again (or nothing), the new folder goes. */
  async #undo(run: OpfsDir, stepName: string, previous: LatestMeta | null, wroteLatest: boolean): Promise<void> {
    if (wroteLatest) {
      const now = await this.#meta(run).catch(() => null);
      if (now === null || now.step !== previous?.step) {
        if (previous) await writeFile(run, LATEST, new TextEncoder().encode(JSON.stringify(previous))).catch(() => undefined);
        else await run.removeEntry(LATEST).catch(() => undefined);
      }
    }
    await run.removeEntry(stepName, { recursive: true }).catch(() => undefined);
  }

  async latest(id: string): Promise<CheckpointInfo | null> {
    const run = await this.#runDir(id, false);
    const meta = run ? await this.#meta(run) : null;
    return meta && (await this.#sizes(run!, meta)) ? info(meta) : null;
  }

  async load(id: string): Promise<StoredCheckpoint | null> {
    const run = await this.#runDir(id, false);
    const meta = run ? await this.#meta(run) : null;
    if (!meta) return null;
    const files = await this.#files(run!, meta);
    return files ? { ...info(meta), files } : null;
  }

  async remove(id: string): Promise<void> {
    checkName(id, 'run id');
    const base = await this.#base(false);
    try {
      await base?.removeEntry(id, { recursive: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async list(): Promise<CheckpointFolder[]> {
    const base = await this.#base(false);
    if (!base) return [];
    const out: CheckpointFolder[] = [];
    for await (const [name, h] of base.entries()) {
      if (h.kind !== 'directory' || !SAFE.test(name)) continue;
      const run = await base.getDirectoryHandle(name);
      const meta = await this.#meta(run);
      out.push({ trainingRunId: name, latest: meta && (await this.#sizes(run, meta)) ? info(meta) : null, bytes: await folderBytes(run) });
    }
    return out;
  }

  async tidy(id: string): Promise<number> {
    const run = await this.#runDir(id, false);
    if (!run) return 0;
    const meta = await this.#meta(run);
    const keep = meta && (await this.#sizes(run, meta)) ? String(meta.step) : null;
    let freed = 0;
    for (const [name, h] of await entries(run)) {
      if (name === keep || (name === LATEST && keep !== null)) continue;
      const bytes = h.kind === 'directory' ? await folderBytes(await run.getDirectoryHandle(name)) : (await (await run.getFileHandle(name)).getFile()).size;
      await run.removeEntry(name, { recursive: true });
      freed += bytes;
    }
    return freed;
  }
}

/** A folder's entries, read before any is removed (removing while iterating may skip some). */
async function entries(dir: OpfsDir): Promise<Array<[string, { kind: 'file' | 'directory' }]>> {
  const out: Array<[string, { kind: 'file' | 'directory' }]> = [];
  for await (const e of dir.entries()) out.push(e);
  return out;
}

async function folderBytes(dir: OpfsDir): Promise<number> {
  let n = 0;
  for await (const [name, h] of dir.entries()) {
    n += h.kind === 'directory' ? await folderBytes(await dir.getDirectoryHandle(name)) : (await (await dir.getFileHandle(name)).getFile()).size;
  }
  return n;
}

/** The page's store: OPFS where the browser has it, memory otherwise. */
export function pageCheckpointStore(): CheckpointStore {
  shared ??= typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function' ? new OpfsCheckpointStore() : new MemoryCheckpointStore();
  return shared;
}
let shared: CheckpointStore | null = null;
