/**
 * "Download merged model" for a stored adapter: the tfjs engine (the actor) merges the adapter into the base
 * model it has loaded — in its worker, one tensor at a time — and hands back the files of a model that runs
 * without the adapter; here they are zipped for the download. Two formats:
 *   GGUF (Q8_0 by default, or F16, F32): model.gguf + Modelfile (FROM ./model.gguf) + README, for llama.cpp and Ollama
 *   safetensors (F32): model.safetensors + the base's config.json and tokenizer files, for transformers and this app
 * The whole output is built in memory, so this is for models that fit in it. Only the tfjs engine with the
 * adapter's own base model loaded can do it.
 */
import { AppError } from '../../core/errors.ts';
import type { AdapterEngine } from '../../core/engine/capabilities.ts';
import type { MergeDtype, MergeFormat } from '../../core/engine/tfjs/merge-run.ts';
import { zipFiles } from '../../core/io/zip.ts';
import type { StudioDb } from '../../db/db.ts';
import type { Adapter } from '../../db/types.ts';
import type { SlotView } from '../engines/engine-slot.ts';
import { zipFileName } from './adapter-files.ts';
import { ensureAdapters } from './adapter-sync.ts';

/** The formats the button offers; the first (GGUF Q8_0) is the default. */
export interface MergedChoice {
  format: MergeFormat;
  dtype: MergeDtype;
  label: string;
}
export const MERGED_CHOICES: readonly MergedChoice[] = [
  { format: 'gguf', dtype: 'Q8_0', label: 'GGUF Q8_0 + Modelfile (llama.cpp, Ollama)' },
  { format: 'gguf', dtype: 'F16', label: 'GGUF F16 + Modelfile' },
  { format: 'gguf', dtype: 'F32', label: 'GGUF F32 + Modelfile' },
  { format: 'safetensors', dtype: 'F32', label: 'safetensors F32 (transformers, this app)' },
];

export function mergedChoiceKey(c: Pick<MergedChoice, 'format' | 'dtype'>): string {
  return `${c.format}:${c.dtype}`;
}

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

/**
 * The zip of the base model with the adapter merged in (default: safetensors F32). Adds the adapter to the
 * engine first if it lacks it.
 */
export async function mergedModelZip(
  engine: AdapterEngine,
  db: StudioDb,
  adapter: Adapter,
  onStep: (s: MergeStep) => void = () => undefined,
  choice: Pick<MergedChoice, 'format' | 'dtype'> = { format: 'safetensors', dtype: 'F32' },
): Promise<Uint8Array<ArrayBuffer>> {
  await ensureAdapters(engine, db, [adapter.id]); // checks the base model and adds the stored adapter when needed
  const merged = await engine.mergedModel(adapter.id, {
    format: choice.format,
    dtype: choice.dtype,
    name: `${adapter.baseModelId} + ${adapter.name}`,
    onProgress: ({ done, total }) => onStep({ phase: 'merging', done, total }),
  });
  const weights = choice.format === 'gguf' ? 'model.gguf' : 'model.safetensors';
  if (!(merged.files[weights] instanceof Uint8Array)) {
    throw new AppError('engine', `The engine returned no ${weights} for the merged model. Reload the model and try again.`);
  }
  onStep({ phase: 'zipping' });
  return zipFiles(new Map(Object.entries(merged.files)));
}

/** The download's name: the adapter's safe file name with "-merged" (and "-gguf" for GGUF). */
export function mergedZipFileName(a: Pick<Adapter, 'name'>, format: MergeFormat = 'safetensors'): string {
  return zipFileName(a).replace(/\.zip$/, format === 'gguf' ? '-merged-gguf.zip' : '-merged.zip');
}
