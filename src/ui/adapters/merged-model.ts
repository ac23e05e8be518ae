/**
 * "Download merged model (.zip)" for a stored adapter: the tfjs engine (the actor) merges the adapter into
 * the base model it has loaded — in its worker, one tensor at a time — and hands back a model folder's files
 * (model.safetensors in F32, the base's config.json and tokenizer files); here they are zipped for the
 * download. Only the tfjs engine with the adapter's own base model loaded can do it.
 */
import { AppError } from '../../core/errors.ts';
import type { AdapterEngine } from '../../core/engine/capabilities.ts';
import { zipFiles } from '../../core/io/zip.ts';
import type { StudioDb } from '../../db/db.ts';
import type { Adapter } from '../../db/types.ts';
import type { SlotView } from '../engines/engine-slot.ts';
import { zipFileName } from './adapter-files.ts';
import { ensureAdapters } from './adapter-sync.ts';

/** Where a merge is: tensors written in the engine, then the zip being built. */
export type MergeStep = { phase: 'merging'; done: number; total: number } | { phase: 'zipping' };

/** Why the merged model cannot be made now, in words for the button's hint; null when it can. */
export function mergeBlocker(actor: Pick<SlotView, 'status' | 'choice' | 'modelId'>, adapter: Pick<Adapter, 'baseModelId'>): string | null {
  const base = adapter.baseModelId || 'its base model';
  if (actor.status !== 'ready' || actor.choice?.kind !== 'tfjs') {
    return `To merge, load ${base} on the tfjs engine as the actor (Engines, below).`;
  }
  if (actor.modelId !== adapter.baseModelId) {
    return `This adapter belongs to ${base}, but the tfjs actor has ${actor.modelId ?? 'another model'} loaded. Load ${base} to merge it.`;
  }
  return null;
}

export function mergeStepText(s: MergeStep): string {
  return s.phase === 'zipping' ? 'Zipping the merged model…' : `Merging… ${s.done} of ${s.total} tensors`;
}

/** The zip of the base model with the adapter merged in. Adds the adapter to the engine first if it lacks it. */
export async function mergedModelZip(
  engine: AdapterEngine,
  db: StudioDb,
  adapter: Adapter,
  onStep: (s: MergeStep) => void = () => undefined,
): Promise<Uint8Array<ArrayBuffer>> {
  await ensureAdapters(engine, db, [adapter.id]); // checks the base model and adds the stored adapter when needed
  const merged = await engine.mergedModel(adapter.id, { onProgress: ({ done, total }) => onStep({ phase: 'merging', done, total }) });
  if (!(merged.files['model.safetensors'] instanceof Uint8Array)) {
    throw new AppError('engine', 'The engine returned no model.safetensors for the merged model. Reload the model and try again.');
  }
  onStep({ phase: 'zipping' });
  return zipFiles(new Map(Object.entries(merged.files)));
}

/** The download's name: the adapter's safe file name with "-merged". */
export function mergedZipFileName(a: Pick<Adapter, 'name'>): string {
  return zipFileName(a).replace(/\.zip$/, '-merged.zip');
}
