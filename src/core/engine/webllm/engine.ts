/**
 * The page side of the web-llm engine: a ChatEngine whose work happens in workers/webllm.worker.ts, reached
 * through the typed protocol (../protocol-client.ts). It picks the variant the adapter can run, reports load
 * progress, streams tokens, aborts one request (a reply stopped mid-way resolves with finishReason 'abort'
 * and the text so far, like every ChatEngine), lists and deletes cached models, and recovers from a lost
 * GPU device or a crashed worker by reloading the model on the next request.
 */
import { AppError, throwIfAborted } from '../../errors.ts';
import { streamedChat } from '../abort-result.ts';
import { CHAT_ONLY, type Declaring, type EvolvableEngine } from '../capabilities.ts';
import { CATALOG, allWebLlmIds, resolveWebLlmModel, type CatalogEntry, type VariantChoice } from '../catalog.ts';
import type { GpuInfo } from '../gpu.ts';
import type { Endpoint } from '../protocol.ts';
import { createWorkerClient, type WorkerClient } from '../protocol-client.ts';
import type { ChatEngine, ChatRequest, ChatResult, LoadProgress } from '../types.ts';
import type { CachedModel, WebLlmApi, WebLlmChatParams, WebLlmLoadParams, WebLlmRecordUrls, WebLlmSource } from './api.ts';
import type { EvolvedRecordRef } from './evolved.ts';

export interface WebLlmEngineOptions {
  /** Starts a worker running workers/webllm.worker.ts (see spawn.ts), or any endpoint speaking WebLlmApi. */
  spawn: () => Endpoint;
  /** Files to fetch instead of web-llm's prebuilt URLs, by web-llm id (a mirror; tests). */
  sources?: Record<string, WebLlmSource>;
  catalog?: readonly CatalogEntry[];
  /** Let thinking models (Qwen3) think aloud before answering. Default false: Self-Refine wants the answer. */
  thinking?: boolean;
  /** Finds an evolved model by its web-llm id (evolved.ts); null = not an evolved model. */
  evolved?: (webllmId: string) => Promise<EvolvedRecordRef | null>;
}

interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

export class WebLlmEngine implements EvolvableEngine {
  readonly kind = 'webllm' as const;
  /**
   * web-llm runs MLC-compiled weights and applies no adapter, but it can be evolved: switched (load) to an
   * evolved model, a build with an adapter merged into its weights (evolved.ts; SELF and SRT do this through
   * ../evolving-actor.ts).
   */
  readonly capabilities: Declaring<'evolve'> = { ...CHAT_ONLY, evolve: true };
  #options: WebLlmEngineOptions;
  #client: WorkerClient<WebLlmApi> | null = null;
  #gpu: GpuInfo | null = null;
  #choice: VariantChoice | null = null;
  #loaded: string | null = null;
  /** What to reload on the next request after the GPU device was lost or the worker crashed. */
  #reload: { id: string; onProgress?: (p: LoadProgress) => void } | null = null;
  #loading: Promise<void> | null = null;

  constructor(options: WebLlmEngineOptions) {
    this.#options = options;
  }

  /** The loaded web-llm model id (e.g. 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC'), or null. */
  get modelId(): string | null {
    return this.#loaded;
  }

  /** The variant chosen by the last load() and why; null before. */
  get choice(): VariantChoice | null {
    return this.#choice;
  }

  /** The adapter seen by the worker; null until probe() or load(). */
  get gpu(): GpuInfo | null {
    return this.#gpu;
  }

  #connect(): WorkerClient<WebLlmApi> {
    if (this.#client && !this.#client.failure) return this.#client;
    const client = createWorkerClient<WebLlmApi>(this.#options.spawn(), 'the web-llm worker');
    client.onFailure(() => {
      // The worker is gone and its model with it; the next request starts a new worker and reloads
      // (`#reload` still names the model).
      this.#loaded = null;
    });
    this.#client = client;
    return client;
  }

  #source(webllmId: string): WebLlmLoadParams {
    return { webllmId, source: this.#options.sources?.[webllmId] ?? null };
  }

  /** Asks the worker what its WebGPU adapter can do. Never throws for a missing GPU: see `available`. */
  async probe(): Promise<GpuInfo> {
    this.#gpu = await this.#connect().call('probe', null);
    return this.#gpu;
  }

  /**
   * Loads a model: our catalog id ('qwen2.5-0.5b': the variant is picked for the adapter, q4f32_1 when it
   * lacks shader-f16) or an exact web-llm id. Throws webgpu-unavailable / shader-f16-missing before anything
   * is downloaded, network when the files cannot be fetched, device-lost when the GPU runs out of memory.
   */
  async load(modelId: string, options: LoadOptions = {}): Promise<void> {
    const run = this.#load(modelId, options);
    this.#loading = run;
    try {
      await run;
    } finally {
      if (this.#loading === run) this.#loading = null;
    }
  }

  async #load(modelId: string, { onProgress, signal }: LoadOptions): Promise<void> {
    throwIfAborted(signal);
    const gpu = await this.probe();
    const evolved = (await this.#options.evolved?.(modelId)) ?? null;
    // An evolved model runs where its base runs (same library, same features).
    const choice = resolveWebLlmModel(evolved?.baseWebllmId ?? modelId, gpu, this.#options.catalog ?? CATALOG);
    const reason = evolved ? `${modelId} is evolved from ${choice.variant.webllmId}; it loads from this browser's cache.` : choice.reason;
    onProgress?.({ phase: 'select', fraction: 0, text: reason, bytesLoaded: null });
    this.#loaded = null;
    this.#reload = null;
    this.#choice = null;
    const params = await this.#params(evolved ? modelId : choice.variant.webllmId, evolved);
    await this.#connect().call('load', params, { signal, onProgress });
    this.#choice = choice;
    this.#loaded = params.webllmId;
    this.#reload = { id: modelId, onProgress };
  }

  /** The URLs of a model's web-llm record (its folder and library), as the worker resolves them. */
  async recordUrls(webllmId: string): Promise<WebLlmRecordUrls> {
    return this.#connect().call('record', this.#source(webllmId));
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    throwIfAborted(request.signal);
    if (request.adapterId) {
      throw new AppError(
        'unsupported',
        'The web-llm engine cannot apply a LoRA adapter. Use the tfjs engine to generate with an adapter.',
      );
    }
    if (this.#loading) await this.#loading.catch(() => undefined);
    if (!this.#loaded && this.#reload) {
      // After a lost device or a crashed worker: load the same model again, then answer.
      await this.load(this.#reload.id, { onProgress: this.#reload.onProgress, signal: request.signal });
    }
    if (!this.#loaded) throw new AppError('engine', 'No model is loaded in the web-llm engine. Load a model first.');
    const params: WebLlmChatParams = {
      messages: request.messages,
      maxTokens: request.maxTokens,
      temperature: request.temperature,
      topP: request.topP,
      topK: request.topK,
      repetitionPenalty: request.repetitionPenalty,
      seed: request.seed,
      stop: request.stop,
      enableThinking: this.#choice?.entry.thinking ? (this.#options.thinking ?? false) : undefined,
    };
    return streamedChat(
      request,
      (onToken) => this.#connect().call('chat', params, { signal: request.signal, onToken }),
      (e) => {
        if (e instanceof AppError && e.code === 'device-lost') this.#loaded = null; // reload on the next request
      },
    );
  }

  async unload(): Promise<void> {
    this.#reload = null;
    this.#choice = null;
    if (!this.#client || this.#client.failure) {
      this.#loaded = null;
      return;
    }
    await this.#client.call('unload', null);
    this.#loaded = null;
  }

  /** Which catalog variants (default: all) have their weights in the browser cache. */
  async listCached(webllmIds: string[] = allWebLlmIds(this.#options.catalog ?? CATALOG)): Promise<CachedModel[]> {
    const models = await Promise.all(webllmIds.map((id) => this.#params(id)));
    return this.#connect().call('cacheStatus', { models });
  }

  /** Load parameters for a web-llm id: an evolved model's (with its base's source) or a catalog variant's. */
  async #params(webllmId: string, known?: EvolvedRecordRef | null): Promise<WebLlmLoadParams> {
    const evolved = known !== undefined ? known : ((await this.#options.evolved?.(webllmId)) ?? null);
    return evolved ? { webllmId, source: this.#source(evolved.baseWebllmId).source, evolved } : this.#source(webllmId);
  }

  /**
   * Deletes a model's files from the browser cache (weights, tokenizer, config, library), partial downloads
   * included, without network access. Returns how many cache entries were removed. Refused while loaded.
   */
  async deleteCached(webllmId: string): Promise<number> {
    const { removed } = await this.#connect().call('cacheDelete', this.#source(webllmId));
    return removed;
  }

  /** Stops the worker. The engine can be used again: the next call starts a new worker. */
  dispose(): void {
    this.#client?.close('The web-llm engine was closed.');
    this.#client = null;
    this.#loaded = null;
    this.#reload = null;
  }
}
