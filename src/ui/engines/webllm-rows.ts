/**
 * The web-llm catalog as rows to show: per model, which variant this GPU would run and why (an f32 build, q4f32
 * or q0f32, when the adapter lacks shader-f16), or why it cannot run here, and which variants are in the browser cache.
 */
import { AppError } from '../../core/errors.ts';
import { CATALOG, chooseVariant, webllmEntries, type CatalogEntry, type VariantChoice, type WebLlmCatalogEntry } from '../../core/engine/catalog.ts';
import type { GpuInfo } from '../../core/engine/gpu.ts';
import type { CachedModel } from '../../core/engine/webllm/api.ts';

export interface WebLlmRow {
  entry: WebLlmCatalogEntry;
  /** What would load on this GPU; null when it cannot run here (see problem) or the GPU is not known yet. */
  choice: VariantChoice | null;
  /** Why it cannot run here, for a person. */
  problem: string | null;
  /** Variants whose files are fully cached. */
  cached: string[];
  /** Variants with some files cached (an interrupted download). */
  partial: string[];
}

export function webllmRows(gpu: GpuInfo | null, cached: readonly CachedModel[] | null, catalog: readonly CatalogEntry[] = CATALOG): WebLlmRow[] {
  const byId = new Map((cached ?? []).map((c) => [c.webllmId, c]));
  return webllmEntries(catalog).map((entry) => {
    let choice: VariantChoice | null = null;
    let problem: string | null = null;
    if (gpu) {
      try {
        choice = chooseVariant(entry, gpu);
      } catch (e) {
        problem = e instanceof AppError ? e.message : String(e);
      }
    }
    const ids = entry.variants.map((v) => v.webllmId);
    return {
      entry,
      choice,
      problem,
      cached: ids.filter((id) => byId.get(id)?.cached),
      partial: ids.filter((id) => {
        const c = byId.get(id);
        return !!c && !c.cached && c.entries > 0;
      }),
    };
  });
}

/** One line about the adapter for the engine picker. */
export function gpuSummary(gpu: GpuInfo): string {
  if (!gpu.available) return `No WebGPU here: ${gpu.reason ?? 'no adapter'}. web-llm needs WebGPU; use the tfjs engine (wasm) instead.`;
  const name = gpu.description || [gpu.vendor, gpu.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const f16 = gpu.features.includes('shader-f16')
    ? 'has shader-f16 (16-bit models run)'
    : 'lacks shader-f16, so 32-bit-float builds are picked (q4f32, or q0f32 for a model without a 4-bit build)';
  return `WebGPU adapter: ${name}${gpu.isFallbackAdapter ? ' (software, slow)' : ''}; ${f16}.`;
}
