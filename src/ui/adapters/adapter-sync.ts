/**
 * Stored adapters in the tfjs engine: the engine's worker knows adapters by the ids it was given, and
 * forgets them with a reload, a model switch or a crashed worker. `ensureAdapters` adds any stored adapter
 * the engine does not hold yet (keyed on the loaded-model object, which every load replaces), so generation
 * and training can name IndexedDB adapter ids at any time.
 */
import { AppError } from '../../core/errors.ts';
import { findEntry } from '../../core/engine/catalog.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { TfjsEngineBase } from '../../core/engine/tfjs/engine.ts';
import type { StudioDb } from '../../db/db.ts';
import { adapterFilesOf } from './adapter-files.ts';

const held = new WeakMap<object, Set<string>>();

/** The tfjs engine, or a clear error saying what to load (for a web-llm actor: the same model's Hugging Face repo). */
export function requireTfjs(engine: ChatEngine | null, what: string): TfjsEngineBase {
  if (!(engine instanceof TfjsEngineBase) || engine.modelId === null) {
    const entry = engine?.kind === 'webllm' && engine.modelId ? findEntry(engine.modelId) : undefined;
    const same =
      entry?.kind === 'webllm'
        ? ` For ${entry.label}, load the tfjs engine with its Hugging Face repo ${entry.hfRepo} (Model source: Hugging Face repo).`
        : '';
    throw new AppError('bad-input', `${what} needs the tfjs engine with a model loaded as the actor (Engines, in the engine setup). Adapters are trained and applied by tfjs only.${same}`);
  }
  return engine;
}

function heldSet(engine: TfjsEngineBase): Set<string> {
  const key = engine.model as object | null;
  if (!key) throw new AppError('bad-input', 'The tfjs engine has no model loaded. Load it first.');
  let s = held.get(key);
  if (!s) held.set(key, (s = new Set()));
  return s;
}

/** Tells the sync that the engine holds an adapter (it made or added it itself). */
export function markHeld(engine: TfjsEngineBase, adapterId: string): void {
  heldSet(engine).add(adapterId);
}

export function markDropped(engine: TfjsEngineBase, adapterId: string): void {
  if (engine.model) held.get(engine.model)?.delete(adapterId);
}

/** Adds the stored adapters (null entries are the base model) that the engine does not hold yet. */
export async function ensureAdapters(engine: TfjsEngineBase, db: StudioDb, ids: readonly (string | null | undefined)[]): Promise<void> {
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
