/**
 * "Make a web-llm model" for a stored adapter: which catalog model's web-llm builds fit it (its base model,
 * by catalog id or Hugging Face repo), which cached build to merge into (a q0 build first: its merge is
 * exact), what the choice means, and the evolve worker's parameters (the base record's URLs come from the
 * web-llm worker, which knows web-llm's prebuilt list).
 */
import { AppError } from '../../core/errors.ts';
import { webllmEntries, type WebLlmCatalogEntry } from '../../core/engine/catalog.ts';
import type { EvolveParams, EvolveProgress } from '../../core/engine/webllm/evolve-api.ts';
import { evolvedModelId } from '../../core/engine/webllm/evolved.ts';
import { WebLlmEngine } from '../../core/engine/webllm/engine.ts';
import { spawnWebLlmWorker } from '../../core/engine/webllm/spawn.ts';
import type { Adapter } from '../../db/types.ts';
import { adapterFilesOf } from './adapter-files.ts';

/** The catalog model whose web-llm builds share the adapter's base weights, or null. */
export function webllmEntryFor(baseModelId: string): WebLlmCatalogEntry | null {
  return webllmEntries().find((e) => e.id === baseModelId || e.hfRepo === baseModelId || e.variants.some((v) => v.webllmId === baseModelId)) ?? null;
}

/** The cached build to offer first: unquantized (exact merge) before 4-bit. */
export function preferredBase(entry: WebLlmCatalogEntry, cached: readonly string[]): string | null {
  return ordered(entry).find((v) => cached.includes(v.webllmId))?.webllmId ?? null;
}

/** The catalog's unquantized build of the same model as the 4-bit build `webllmId` (its merges are exact), or null. */
export function exactBuildFor(webllmId: string): string | null {
  const entry = webllmEntryFor(webllmId);
  const v = entry?.variants.find((x) => x.webllmId === webllmId);
  if (!entry || !v || v.quantization.startsWith('q0')) return null;
  return ordered(entry).find((x) => x.quantization.startsWith('q0'))?.webllmId ?? null;
}

/** q0f32 before q0f16 (float32 keeps the merge exact to float32 precision), then the 4-bit builds. */
function ordered(entry: WebLlmCatalogEntry): WebLlmCatalogEntry['variants'] {
  const order = ['q0f32', 'q0f16', 'q4f32_1', 'q4f16_1'];
  return [...entry.variants].sort((a, b) => order.indexOf(a.quantization) - order.indexOf(b.quantization));
}

/** What merging into this build means, for a person. */
export function mergeNote(entry: WebLlmCatalogEntry, webllmId: string): string {
  const v = entry.variants.find((x) => x.webllmId === webllmId);
  if (!v) return '';
  if (v.quantization.startsWith('q0')) return `${v.quantization} is unquantized: the adapter is merged exactly (to ${v.quantization.endsWith('f16') ? 'float16' : 'float32'} precision).`;
  const exact = ordered(entry).find((x) => x.quantization.startsWith('q0'));
  return (
    `${v.quantization} is 4-bit: the changed rows are requantized, which loses part of the adapter (a small update mostly rounds away; the result says how much survived).` +
    (exact ? ` The catalog has ${exact.webllmId}: merge into it (download it with the web-llm engine first) for an exact merge.` : '')
  );
}

export function progressText(p: EvolveProgress): string {
  if (p.phase === 'merge') return `Merging… ${p.done} of ${p.total} parameters`;
  return `Saving in the browser's cache… ${(p.done / 2 ** 20).toFixed(1)} of ${(p.total / 2 ** 20).toFixed(1)} MB`;
}

/** The evolve worker's parameters for merging `adapter` into the cached build `baseWebllmId`. */
export async function evolveParams(adapter: Adapter, entry: WebLlmCatalogEntry, baseWebllmId: string, name: string, origin: string): Promise<EvolveParams> {
  const variant = entry.variants.find((v) => v.webllmId === baseWebllmId);
  if (!variant) throw new AppError('bad-input', `${baseWebllmId} is not a web-llm build of ${entry.label}.`);
  const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker });
  try {
    const urls = await engine.recordUrls(baseWebllmId);
    return {
      adapter: await adapterFilesOf(adapter),
      base: { webllmId: baseWebllmId, quantization: variant.quantization, modelLib: urls.modelLib },
      baseModel: urls.model,
      webllmId: evolvedModelId(baseWebllmId),
      name,
      origin,
    };
  } finally {
    engine.dispose();
  }
}
