/**
 * Making an evolved model (evolved.ts) from a catalog build in web-llm's cache: the base MLC files read back
 * from the cache scopes, the adapter's PEFT files, mergeIntoMlc, then registerEvolvedModel into the same
 * scopes. Used by the evolve worker (evolve-host.ts) and, in Node, by SELF / SRT on a web-llm actor run with
 * an in-memory Cache API (the CLI, tests). A base that is not in the cache is refused before anything is
 * written, with what to do about it.
 */
import { AppError } from '../../errors.ts';
import { memorySource } from '../../io/memory-source.ts';
import { readPeftAdapterPlain } from '../../lora/peft-plain.ts';
import { mergeIntoMlc } from '../../mlc/merge.ts';
import { openMlcModel } from '../../mlc/read.ts';
import { CHAT_CONFIG_FILE, TENSOR_CACHE_FILE } from '../../mlc/types.ts';
import { webllmCacheSource } from './cache-source.ts';
import type { EvolveParams, EvolveProgress } from './evolve-api.ts';
import { registerEvolvedModel, type EvolvedModel, type WritableCacheStorage } from './evolved.ts';

export interface EvolveOptions {
  signal?: AbortSignal;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  onProgress?: (p: EvolveProgress) => void;
}

/** Throws not-found (download it first) unless the model's config and index are in web-llm's cache. */
export async function requireCached(caches: WritableCacheStorage, model: string, webllmId: string): Promise<void> {
  const source = webllmCacheSource(caches, model, `the cached ${webllmId}`);
  for (const file of [CHAT_CONFIG_FILE, TENSOR_CACHE_FILE]) {
    if (!(await source.open(file))) {
      throw new AppError(
        'not-found',
        `${webllmId} is not (fully) in this browser's cache: ${file} is missing. Load it once with the web-llm engine (that downloads it), then try again.`,
      );
    }
  }
}

/** Merges `p.adapter` into the cached base at `p.baseModel` and registers the result under `p.webllmId`. */
export async function evolveIntoCache(caches: WritableCacheStorage, p: EvolveParams, o: EvolveOptions = {}): Promise<EvolvedModel> {
  await requireCached(caches, p.baseModel, p.base.webllmId);
  const source = webllmCacheSource(caches, p.baseModel, `the cached ${p.base.webllmId}`);
  const base = await openMlcModel(source, { signal: o.signal });
  if (base.chat.quantization !== p.base.quantization) {
    throw new AppError('mlc', `The cached ${p.base.webllmId} says it is ${base.chat.quantization}, not ${p.base.quantization}. Delete it and download it again.`);
  }
  const adapterFiles = new Map<string, Uint8Array>([
    ['adapter_config.json', new TextEncoder().encode(p.adapter.adapterConfig)],
    ['adapter_model.safetensors', p.adapter.safetensors],
  ]);
  const adapter = await readPeftAdapterPlain(memorySource(`adapter:${p.webllmId}`, adapterFiles, 'the adapter'), base.chat.config, { signal: o.signal });
  const { files, report } = await mergeIntoMlc(base, adapter, { signal: o.signal, onProgress: (done, total) => o.onProgress?.({ phase: 'merge', done, total }) });
  return registerEvolvedModel(caches, p.base, p.webllmId, files, {
    origin: p.origin,
    name: p.name,
    adapterId: p.adapterId ?? null,
    report: { exact: report.exact, weightKept: report.weightKept, logitsKept: null },
    signal: o.signal,
    estimate: o.estimate,
    onProgress: (done, total) => o.onProgress?.({ phase: 'write', done, total }),
  });
}
