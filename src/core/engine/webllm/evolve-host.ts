/**
 * The evolve worker's side (evolve-api.ts): base MLC files from web-llm's cache scopes, the adapter from
 * the page, mergeIntoMlc, then registerEvolvedModel into the same scopes, with progress for both phases.
 * A base that is not (fully) in the cache is refused before anything is written.
 */
import { AppError } from '../../errors.ts';
import { memorySource } from '../../io/memory-source.ts';
import { readPeftAdapterPlain } from '../../lora/peft-plain.ts';
import { mergeIntoMlc } from '../../mlc/merge.ts';
import { openMlcModel } from '../../mlc/read.ts';
import { CHAT_CONFIG_FILE } from '../../mlc/types.ts';
import type { Endpoint } from '../protocol.ts';
import { serveWorker, type WorkerServer } from '../protocol-server.ts';
import { webllmCacheSource } from './cache-source.ts';
import type { EvolveApi } from './evolve-api.ts';
import { registerEvolvedModel, type WritableCacheStorage } from './evolved.ts';

export interface EvolveHostDeps {
  caches: WritableCacheStorage | undefined;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

export function serveEvolve(endpoint: Endpoint, deps: EvolveHostDeps): WorkerServer {
  return serveWorker<EvolveApi>(endpoint, {
    evolve: async (p, ctx) => {
      const caches = deps.caches;
      if (!caches) throw new AppError('unsupported', 'This browser has no Cache API here (a private window or an insecure page), so web-llm models cannot be stored.');
      const source = webllmCacheSource(caches, p.baseModel, `the cached ${p.base.webllmId}`);
      if (!(await source.open(CHAT_CONFIG_FILE))) {
        throw new AppError('not-found', `${p.base.webllmId} is not in this browser's cache. Load it once with the web-llm engine (that downloads it), then merge again.`);
      }
      const base = await openMlcModel(source, { signal: ctx.signal });
      if (base.chat.quantization !== p.base.quantization) {
        throw new AppError('mlc', `The cached ${p.base.webllmId} says it is ${base.chat.quantization}, not ${p.base.quantization}. Delete it and download it again.`);
      }
      const adapterFiles = new Map<string, Uint8Array>([
        ['adapter_config.json', new TextEncoder().encode(p.adapter.adapterConfig)],
        ['adapter_model.safetensors', p.adapter.safetensors],
      ]);
      const adapter = await readPeftAdapterPlain(memorySource(`adapter:${p.webllmId}`, adapterFiles, 'the adapter'), base.chat.config, { signal: ctx.signal });
      const { files, report } = await mergeIntoMlc(base, adapter, { signal: ctx.signal, onProgress: (done, total) => ctx.progress({ phase: 'merge', done, total }) });
      return registerEvolvedModel(caches, p.base, p.webllmId, files, {
        origin: p.origin,
        name: p.name,
        report: { exact: report.exact, weightKept: report.weightKept, logitsKept: null },
        signal: ctx.signal,
        estimate: deps.estimate,
        onProgress: (done, total) => ctx.progress({ phase: 'write', done, total }),
      });
    },
  });
}
