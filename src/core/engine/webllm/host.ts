/**
 * The worker side of the web-llm engine: serves WebLlmApi (api.ts explains why we wrap web-llm's in-worker
 * MLCEngine instead of using its WebWorkerMLCEngineHandler) on an endpoint, usually the worker's global scope.
 * web-llm itself is passed in (`WebLlmLib`) so this file stays free of the 7 MB bundle and can be driven in
 * Node tests; workers/webllm.worker.ts passes the real one.
 */
import type {
  AppConfig,
  ChatCompletionChunk,
  ChatCompletionRequestStreaming,
  CompletionUsage,
  InitProgressReport,
  ModelRecord,
} from '@mlc-ai/web-llm';
import { AppError, throwIfAborted } from '../../errors.ts';
import { assertWebGpu, findEntry, resolveWebLlmModel } from '../catalog.ts';
import { probeGpu, type GpuInfo, type GpuLike } from '../gpu.ts';
import type { Endpoint } from '../protocol.ts';
import { serveWorker, type WorkerServer } from '../protocol-server.ts';
import type { ChatResult } from '../types.ts';
import type { WebLlmApi, WebLlmLoadParams } from './api.ts';
import { countModelEntries, sweepModelEntries, type CacheStorageLike } from './cache.ts';
import { classifyWebLlmError, type WebLlmErrorContext } from './errors.ts';
import { mapWebLlmProgress } from './progress.ts';
import { fromWebLlmUsage, toFinishReason, toWebLlmRequest } from './request.ts';

/** The parts of web-llm's MLCEngine this host drives. */
export interface MlcEngineLike {
  setAppConfig(appConfig: AppConfig): void;
  setInitProgressCallback(callback: (report: InitProgressReport) => void): void;
  reload(modelId: string): Promise<void>;
  chatCompletion(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>>;
  interruptGenerate(): void | Promise<void>;
  unload(): Promise<void>;
}

/** What the host needs from @mlc-ai/web-llm and the browser. */
export interface WebLlmLib {
  createEngine(): MlcEngineLike;
  prebuiltAppConfig: AppConfig;
  hasModelInCache(modelId: string, appConfig: AppConfig): Promise<boolean>;
  deleteModelAllInfoInCache(modelId: string, appConfig: AppConfig): Promise<void>;
  /** `navigator.gpu` inside the worker (undefined where WebGPU is missing). */
  gpu: GpuLike | undefined;
  /** The Cache API (`caches`) where web-llm keeps downloads; undefined where there is none. */
  caches: CacheStorageLike | undefined;
}

function absoluteUrl(url: string, what: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    return u.href;
  } catch {
    throw new AppError('bad-input', `The ${what} URL "${url}" is not an absolute http(s) URL; web-llm needs one.`);
  }
}

function urlsOf(record: ModelRecord): { model: string; modelLib: string } {
  return { model: record.model, modelLib: record.model_lib };
}

function hostsOf(record: ModelRecord): string[] {
  const hosts = new Set<string>();
  for (const url of [record.model, record.model_lib]) {
    try {
      hosts.add(new URL(url).host);
    } catch {
      // relative URLs resolve against the page; nothing to name
    }
  }
  return [...hosts];
}

export function serveWebLlm(endpoint: Endpoint, lib: WebLlmLib): WorkerServer {
  let engine: MlcEngineLike | null = null;
  let loaded: string | null = null;
  let gpu: GpuInfo | null = null;
  let tail: Promise<unknown> = Promise.resolve();

  /** load, chat and unload run one at a time, in order of arrival (web-llm holds one model state). */
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  }

  function getEngine(): MlcEngineLike {
    engine ??= lib.createEngine();
    return engine;
  }

  async function getGpu(): Promise<GpuInfo> {
    if (!gpu || !gpu.available) gpu = await probeGpu(lib.gpu);
    return gpu;
  }

  function recordFor(p: WebLlmLoadParams): ModelRecord {
    if (p.evolved) {
      // The base's record (overrides, features, memory) under the evolved id, folder and the base's library.
      const base = recordFor({ webllmId: p.evolved.baseWebllmId, source: p.source });
      return { ...base, model_id: p.webllmId, model: absoluteUrl(p.evolved.model, 'model'), model_lib: absoluteUrl(p.evolved.modelLib, 'model library') };
    }
    const base = lib.prebuiltAppConfig.model_list.find((r) => r.model_id === p.webllmId);
    if (!base) {
      throw new AppError('not-found', `web-llm has no prebuilt model "${p.webllmId}". Pick a model from the catalog.`);
    }
    if (!p.source) return base;
    return { ...base, model: absoluteUrl(p.source.model, 'model'), model_lib: absoluteUrl(p.source.modelLib, 'model library') };
  }

  function appConfigFor(records: ModelRecord[]): AppConfig {
    return { model_list: records, cacheBackend: 'cache' };
  }

  function context(phase: WebLlmErrorContext['phase'], webllmId: string | null, record?: ModelRecord): WebLlmErrorContext {
    return { phase, webllmId, wasLoaded: loaded !== null && loaded === webllmId, hosts: record ? hostsOf(record) : [] };
  }

  /** Checks, before anything is downloaded, that the adapter can run the model. */
  function assertRunnable(webllmId: string, record: ModelRecord, info: GpuInfo): void {
    assertWebGpu(info);
    if (findEntry(webllmId)?.kind === 'webllm') {
      resolveWebLlmModel(webllmId, info); // throws shader-f16-missing with the f32 alternative named
      return;
    }
    const needsF16 = /f16/.test(webllmId) || (record.required_features ?? []).includes('shader-f16');
    if (needsF16 && !info.features.includes('shader-f16')) {
      throw new AppError('shader-f16-missing', `${webllmId} needs the WebGPU feature shader-f16, which this GPU lacks. Pick a q4f32_1 model instead.`);
    }
  }

  return serveWorker<WebLlmApi>(endpoint, {
    probe: () => getGpu(),

    load: (params, ctx) =>
      serial(async () => {
        throwIfAborted(ctx.signal);
        const record = recordFor(params);
        const info = await getGpu();
        assertRunnable(params.evolved?.baseWebllmId ?? params.webllmId, record, info);
        const mlc = getEngine();
        const stop = (): void => void mlc.unload(); // aborts web-llm's downloads
        ctx.signal.addEventListener('abort', stop, { once: true });
        const started = performance.now();
        try {
          loaded = null;
          mlc.setAppConfig(appConfigFor([record]));
          mlc.setInitProgressCallback((r) => ctx.progress(mapWebLlmProgress(r)));
          await mlc.reload(params.webllmId);
          throwIfAborted(ctx.signal); // web-llm returns quietly from a reload cut short by unload()
          loaded = params.webllmId;
          return { webllmId: params.webllmId, loadMs: performance.now() - started, gpu: info };
        } catch (e) {
          loaded = null;
          throw classifyWebLlmError(e, context('load', params.webllmId, record));
        } finally {
          ctx.signal.removeEventListener('abort', stop);
        }
      }),

    chat: (params, ctx) =>
      serial(async (): Promise<ChatResult> => {
        throwIfAborted(ctx.signal);
        const current = loaded;
        if (!engine || !current) {
          throw new AppError('engine', 'No model is loaded in the web-llm engine. Load a model first.');
        }
        const mlc = engine;
        const stop = (): void => void mlc.interruptGenerate();
        ctx.signal.addEventListener('abort', stop, { once: true });
        const started = performance.now();
        let text = '';
        let chunks = 0;
        let finish: string | null = null;
        let usage: CompletionUsage | undefined;
        try {
          const stream = await mlc.chatCompletion(toWebLlmRequest(params));
          for await (const chunk of stream) {
            const choice = chunk.choices[0];
            const delta = choice?.delta.content;
            if (delta) {
              text += delta;
              chunks++;
              ctx.token(delta);
            }
            if (choice?.finish_reason) finish = choice.finish_reason;
            if (chunk.usage) usage = chunk.usage;
          }
        } catch (e) {
          const err = classifyWebLlmError(e, context('chat', current));
          if (err.code === 'device-lost') loaded = null;
          throw err;
        } finally {
          ctx.signal.removeEventListener('abort', stop);
        }
        throwIfAborted(ctx.signal);
        return { text, finishReason: toFinishReason(finish), usage: fromWebLlmUsage(usage, performance.now() - started, chunks) };
      }),

    unload: () =>
      serial(async () => {
        loaded = null;
        if (engine) await engine.unload();
        return null;
      }),

    cacheStatus: async ({ models }) => {
      const out = [];
      for (const p of models) {
        const record = recordFor(p);
        try {
          const cached = await lib.hasModelInCache(p.webllmId, appConfigFor([record]));
          const entries = lib.caches ? await countModelEntries(lib.caches, urlsOf(record)) : 0;
          out.push({ webllmId: p.webllmId, cached, entries });
        } catch (e) {
          throw classifyWebLlmError(e, context('cache', p.webllmId, record));
        }
      }
      return out;
    },

    record: async (p) => {
      const r = recordFor(p);
      return { webllmId: r.model_id, model: r.model, modelLib: r.model_lib };
    },

    cacheDelete: async (p) => {
      const record = recordFor(p);
      if (loaded === p.webllmId) {
        throw new AppError('bad-input', `${p.webllmId} is loaded right now. Unload it, then delete its files.`);
      }
      try {
        let removed = 0;
        // web-llm's own deletion reads tensor-cache.json from the cache; it is only safe offline when the
        // model is fully cached. The sweep then removes whatever is left (partial downloads, config, library).
        if (await lib.hasModelInCache(p.webllmId, appConfigFor([record]))) {
          const before = lib.caches ? await countModelEntries(lib.caches, urlsOf(record)) : 0;
          await lib.deleteModelAllInfoInCache(p.webllmId, appConfigFor([record]));
          const after = lib.caches ? await countModelEntries(lib.caches, urlsOf(record)) : 0;
          removed += before - after;
        }
        if (lib.caches) removed += await sweepModelEntries(lib.caches, urlsOf(record));
        return { removed };
      } catch (e) {
        throw classifyWebLlmError(e, context('cache', p.webllmId, record));
      }
    },
  });
}
