/**
 * Stored adapters in an engine that holds them (the `adapters` capability: the tfjs engine): the engine's worker knows adapters by the ids it was given, and
 * forgets them with a reload, a model switch or a crashed worker. `ensureAdapters` adds any stored adapter
 * the engine does not hold yet (keyed on the loaded-model object, which every load replaces), so generation
 * and training can name IndexedDB adapter ids at any time.
 */
import { AppError } from '../../core/errors.ts';
import type { AdapterEngine } from '../../core/engine/capabilities.ts';
import type { StudioDb } from '../../db/db.ts';
import { adapterFilesOf } from './adapter-files.ts';

const held = new WeakMap<object, Set<string>>();

function heldSet(engine: AdapterEngine): Set<string> {
  const key = engine.model as object | null;
  if (!key) throw new AppError('bad-input', 'The tfjs engine has no model loaded. Load it first.');
  let s = held.get(key);
  if (!s) held.set(key, (s = new Set()));
  return s;
}

/** Tells the sync that the engine holds an adapter (it made or added it itself). */
export function markHeld(engine: AdapterEngine, adapterId: string): void {
  heldSet(engine).add(adapterId);
}

export function markDropped(engine: AdapterEngine, adapterId: string): void {
  if (engine.model) held.get(engine.model)?.delete(adapterId);
}

/** Adds the stored adapters (null entries are the base model) that the engine does not hold yet. */
export async function ensureAdapters(engine: AdapterEngine, db: StudioDb, ids: readonly (string | null | undefined)[]): Promise<void> {
  const set = heldSet(engine);
  for (const id of ids) {
    if (!id || set.has(id)) continue;
    const row = await db.adapters.get(id);
    if (!row) throw new AppError('not-found', 'The chosen adapter no longer exists (it may have been deleted). Pick another one.');
    if (engine.modelId !== null && row.baseModelId && row.baseModelId !== engine.modelId) {
      throw new AppError(
        'adapter-mismatch',
        `Adapter "${row.name}" was trained on ${row.baseModelId}, but ${engine.modelId} is loaded. Load ${row.baseModelId} to use it.`,
      );
    }
    await engine.addAdapter(id, await adapterFilesOf(row));
    set.add(id);
  }
}
