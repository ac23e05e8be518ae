/**
 * Node only: SELF and SRT on a web-llm actor (src/core/engine/evolving-actor.ts) without a browser. No
 * web-llm model library can run here, so this file STANDS IN FOR WEB-LLM'S WEBGPU COMPUTE with our tfjs
 * runtime computing on the same MLC files: everything else is the app's own path — the files sit in
 * web-llm's cache scopes (an in-memory Cache API) at web-llm's URLs, the trainer reads the starting model
 * from there (`webllm-cache` source), every round's adapter is merged and registered as an evolved model by
 * evolveIntoCache, and the generator switches by web-llm id, reading the evolved files from the cache only.
 */
import { EvolvingActor } from '../core/engine/evolving-actor.ts';
import { CHAT_ONLY, type Declaring, type EvolvableEngine } from '../core/engine/capabilities.ts';
import type { BackendName } from '../core/engine/tfjs/api.ts';
import { TfjsLocalEngine } from '../core/engine/tfjs/local.ts';
import { nodeTfjsHostDeps } from '../core/engine/tfjs/node-local.ts';
import type { ChatRequest, ChatResult, LoadProgress } from '../core/engine/types.ts';
import { modelBaseUrl } from '../core/engine/webllm/cache.ts';
import { evolveIntoCache, requireCached } from '../core/engine/webllm/evolve.ts';
import { findEvolvedForAdapter, findEvolvedModel, updateEvolvedReport, type EvolvedBase, type WritableCache, type WritableCacheStorage } from '../core/engine/webllm/evolved.ts';
import { AppError } from '../core/errors.ts';
import { CHAT_CONFIG_FILE, type MlcFileMap } from '../core/mlc/types.ts';

/** The Cache API in memory (scope → URL → body and content type), as web-llm's cache scopes are in a browser, with
 *  an optional quota over all bodies (a put past it fails with QuotaExceededError, as a full disk does). */
export class MemoryCacheStorage implements WritableCacheStorage {
  readonly scopes = new Map<string, Map<string, { body: ArrayBuffer; type: string }>>();
  constructor(public quota = Infinity) {}
  get used(): number {
    let n = 0;
    for (const s of this.scopes.values()) for (const e of s.values()) n += e.body.byteLength;
    return n;
  }
  async open(name: string): Promise<WritableCache> {
    let scope = this.scopes.get(name);
    if (!scope) this.scopes.set(name, (scope = new Map()));
    const entries = scope;
    return {
      keys: async () => [...entries.keys()].map((url) => ({ url })),
      match: async (url) => {
        const e = entries.get(url);
        return e ? new Response(e.body.slice(0), { headers: { 'Content-Type': e.type } }) : undefined;
      },
      put: async (url, res) => {
        const body = await res.arrayBuffer();
        if (this.used - (entries.get(url)?.body.byteLength ?? 0) + body.byteLength > this.quota) throw new DOMException('Quota exceeded.', 'QuotaExceededError');
        entries.set(url, { body, type: res.headers.get('Content-Type') ?? '' });
      },
      delete: async (url) => entries.delete(url),
    };
  }
  urls(scope: string): string[] {
    return [...(this.scopes.get(scope)?.keys() ?? [])].sort();
  }
}

/** Puts MLC files where web-llm leaves a downloaded model (config in webllm/config, the rest in webllm/model). */
export async function cacheAsWebLlm(caches: WritableCacheStorage, model: string, files: MlcFileMap): Promise<void> {
  const base = modelBaseUrl(model);
  for (const [file, bytes] of files) {
    const cache = await caches.open(file === CHAT_CONFIG_FILE ? 'webllm/config' : 'webllm/model');
    await cache.put(new URL(file, base).href, new Response(new Blob([bytes as Uint8Array<ArrayBuffer>])));
  }
}

/**
 * Stands in for web-llm's compute: loads a web-llm id (a catalog build at `baseModel`, or an evolved model
 * from the registry) from the cache scopes into our tfjs runtime, and generates there. `loads` lists every
 * id it was switched to, in order.
 */
export class WebLlmComputeStandIn implements EvolvableEngine {
  readonly kind = 'webllm' as const;
  readonly capabilities: Declaring<'evolve'> = { ...CHAT_ONLY, evolve: true };
  readonly loads: string[] = [];
  readonly #engine: TfjsLocalEngine;
  readonly #urls = new Map<string, string>();

  constructor(
    readonly caches: WritableCacheStorage,
    builds: Record<string, string>,
    backend: BackendName = 'wasm',
  ) {
    for (const [id, url] of Object.entries(builds)) this.#urls.set(id, url);
    this.#engine = new TfjsLocalEngine({
      host: { ...nodeTfjsHostDeps(), webllmCaches: () => caches },
      backend,
      source: (id) => ({ kind: 'webllm-cache', model: this.#urls.get(id) ?? '' }),
    });
  }

  get modelId(): string | null {
    return this.#engine.modelId;
  }

  async load(modelId: string, options: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#urls.has(modelId)) {
      const evolved = await findEvolvedModel(this.caches, modelId);
      if (!evolved) throw new AppError('not-found', `${modelId} is neither a known build nor an evolved model in this cache.`);
      this.#urls.set(modelId, evolved.model);
    }
    await requireCached(this.caches, this.#urls.get(modelId)!, modelId);
    this.loads.push(modelId);
    await this.#engine.load(modelId, options);
  }

  async recordUrls(modelId: string): Promise<{ model: string; modelLib: string }> {
    const model = this.#urls.get(modelId) ?? (await findEvolvedModel(this.caches, modelId))?.model;
    if (!model) throw new AppError('not-found', `${modelId} is neither a known build nor an evolved model in this cache.`);
    return { model, modelLib: `${model}stand-in-has-no-library.wasm` }; // nothing compiled runs here
  }

  chat(request: ChatRequest): Promise<ChatResult> {
    return this.#engine.chat(request);
  }

  chatBatch(requests: ChatRequest[]): Promise<ChatResult[]> {
    return this.#engine.chatBatch(requests);
  }

  unload(): Promise<void> {
    return this.#engine.unload();
  }
}

export interface NodeWebLlmActorOptions {
  caches: WritableCacheStorage;
  /** The catalog build the actor starts from; its files must already be in `caches` at `model`. */
  base: EvolvedBase;
  model: string;
  origin?: string;
  backend?: BackendName;
  measureRetention?: boolean;
}

/** The web-llm actor in Node: the stand-in generator, the tfjs trainer on the cached files, evolving in `caches`. */
export async function nodeWebLlmActor(o: NodeWebLlmActorOptions): Promise<{ actor: EvolvingActor; generator: WebLlmComputeStandIn; trainer: TfjsLocalEngine }> {
  const { caches, base } = o;
  await requireCached(caches, o.model, base.webllmId);
  const generator = new WebLlmComputeStandIn(caches, { [base.webllmId]: o.model }, o.backend);
  await generator.load(base.webllmId);
  const trainer = new TfjsLocalEngine({ host: { ...nodeTfjsHostDeps(), webllmCaches: () => caches }, backend: o.backend ?? 'wasm', source: { kind: 'webllm-cache', model: o.model } });
  await trainer.load(base.webllmId);
  let n = 0;
  const actor = new EvolvingActor({
    generator,
    trainer,
    startModelId: base.webllmId,
    base,
    startModel: o.model,
    origin: o.origin ?? 'http://localhost:5173',
    evolve: (p, x) => evolveIntoCache(caches, p, x),
    find: (adapterId) => findEvolvedForAdapter(caches, adapterId, base.webllmId),
    saveReport: async (id, report) => void (await updateEvolvedReport(caches, id, report)),
    measureRetention: o.measureRetention,
    newId: (b) => `${b}-evolved-${++n}`,
  });
  return { actor, generator, trainer };
}
