/**
 * The web-llm engine's wiring, without a model: the page-side WebLlmEngine talks over a real MessageChannel
 * to the real worker host (serveWebLlm), in which web-llm's MLCEngine is replaced by a scripted fake that
 * emits web-llm's own progress texts, chunk shapes and error classes. What is tested is our plumbing:
 * variant choice, progress mapping, streaming, usage, abort, device loss, crashes, cache calls.
 */
import { prebuiltAppConfig, type AppConfig, type ChatCompletionChunk, type ChatCompletionRequestStreaming, type InitProgressReport } from '@mlc-ai/web-llm';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import type { AdapterLike, GpuLike } from '../../src/core/engine/gpu.ts';
import type { Endpoint } from '../../src/core/engine/protocol.ts';
import type { LoadProgress } from '../../src/core/engine/types.ts';
import { WebLlmEngine } from '../../src/core/engine/webllm/engine.ts';
import { classifyWebLlmError } from '../../src/core/engine/webllm/errors.ts';
import { modelBaseUrl, type CacheLike, type CacheStorageLike } from '../../src/core/engine/webllm/cache.ts';
import { serveWebLlm, type MlcEngineLike, type WebLlmLib } from '../../src/core/engine/webllm/host.ts';
import { mapWebLlmProgress } from '../../src/core/engine/webllm/progress.ts';
import { EvolvingActor } from '../../src/core/engine/evolving-actor.ts';
import { TfjsLocalEngine } from '../../src/core/engine/tfjs/local.ts';
import { nodeTfjsHostDeps } from '../../src/core/engine/tfjs/node-local.ts';
import { evolveIntoCache } from '../../src/core/engine/webllm/evolve.ts';
import { evolvedRecordRef, findEvolvedForAdapter, type EvolvedBase, type EvolvedRecordRef } from '../../src/core/engine/webllm/evolved.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../../src/core/toy/self-train.ts';
import { cacheAsWebLlm, MemoryCacheStorage } from '../../src/cli/webllm-node.ts';
import { mlcFiles } from './mlc-helpers.ts';

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

function fakeGpu(features: string[]): GpuLike {
  const set = new Set(features);
  const adapter: AdapterLike = {
    features: { has: (f) => set.has(f), forEach: (cb) => set.forEach((f) => cb(f)) },
    limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 },
    info: { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device', isFallbackAdapter: false },
  };
  return { requestAdapter: async () => adapter };
}

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

/** Stands in for web-llm's MLCEngine: same method names, progress texts and chunk shapes (0.2.86). */
class FakeMlc implements MlcEngineLike {
  appConfig: AppConfig | null = null;
  progress: ((r: InitProgressReport) => void) | null = null;
  reloads: string[] = [];
  requests: ChatCompletionRequestStreaming[] = [];
  interrupts = 0;
  unloads = 0;
  loaded: string | null = null;
  interrupted = false;
  /** Set to make the next reload / chatCompletion fail. */
  reloadError: Error | null = null;
  chatError: Error | null = null;
  /** Reload waits for this before finishing (to test abort). */
  reloadGate: Promise<void> | null = null;
  reply = 'Hello there friend';
  tokenDelayMs = 1;

  setAppConfig(c: AppConfig): void {
    this.appConfig = c;
  }
  setInitProgressCallback(cb: (r: InitProgressReport) => void): void {
    this.progress = cb;
  }
  async reload(modelId: string): Promise<void> {
    this.reloads.push(modelId);
    if (!this.appConfig?.model_list.some((r) => r.model_id === modelId)) throw named('ModelNotFoundError', `Cannot find model record in appConfig for ${modelId}.`);
    this.progress?.({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' });
    this.progress?.({
      progress: 0.5,
      timeElapsed: 1,
      text: 'Fetching param cache[1/2]: 300MB fetched. 50% completed, 1 secs elapsed. It can take a while when we first visit this page to populate the cache. Later refreshes will become faster.',
    });
    if (this.reloadGate) await this.reloadGate;
    if (this.loaded === 'unloaded-during-reload') return; // web-llm returns quietly when unload() cut it short
    if (this.reloadError) {
      const e = this.reloadError;
      this.reloadError = null;
      throw e;
    }
    this.progress?.({ progress: 1, timeElapsed: 2, text: 'Loading GPU shader modules[10/10]: 100% completed, 2 secs elapsed.' });
    this.progress?.({ progress: 1, timeElapsed: 2, text: 'Finish loading on WebGPU - google' });
    this.loaded = modelId;
  }
  async chatCompletion(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>> {
    this.requests.push(request);
    if (this.chatError) {
      const e = this.chatError;
      this.chatError = null;
      throw e;
    }
    if (!this.loaded) throw named('ModelNotLoadedError', 'Model not loaded before trying to complete ChatCompletionRequest.');
    this.interrupted = false;
    const pieces = this.reply.split(/(?<= )/);
    const model = this.loaded;
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 0, model };
    const self = this;
    return (async function* () {
      let finish: 'stop' | 'abort' = 'stop';
      let n = 0;
      for (const p of pieces) {
        await tick(self.tokenDelayMs);
        if (self.interrupted) {
          finish = 'abort';
          break;
        }
        n++;
        yield { ...base, choices: [{ index: 0, delta: { content: p, role: 'assistant' as const }, finish_reason: null, logprobs: null }] };
      }
      yield { ...base, choices: [{ index: 0, delta: { content: '', role: 'assistant' as const }, finish_reason: finish, logprobs: null }] };
      yield {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 17,
          completion_tokens: n,
          total_tokens: 17 + n,
          extra: { e2e_latency_s: 0.5, prefill_tokens_per_s: 340, decode_tokens_per_s: 42.5, time_to_first_token_s: 0.05, time_per_output_token_s: 0.0235 },
        },
      };
    })();
  }
  interruptGenerate(): void {
    this.interrupts++;
    this.interrupted = true;
  }
  async unload(): Promise<void> {
    this.unloads++;
    this.loaded = this.reloadGate ? 'unloaded-during-reload' : null;
  }
}

const channels: MessagePort[] = [];
afterEach(() => {
  for (const p of channels.splice(0)) p.close();
});

/** An in-memory Cache API: scope → URLs. */
class FakeCaches implements CacheStorageLike {
  scopes = new Map<string, Set<string>>();
  async open(name: string): Promise<CacheLike> {
    let set = this.scopes.get(name);
    if (!set) this.scopes.set(name, (set = new Set()));
    const urls = set;
    return { keys: async () => [...urls].map((url) => ({ url })), delete: async (u: string) => urls.delete(u) };
  }
  put(scope: string, url: string): void {
    if (!this.scopes.has(scope)) this.scopes.set(scope, new Set());
    this.scopes.get(scope)!.add(url);
  }
  has(scope: string, url: string): boolean {
    return this.scopes.get(scope)?.has(url) ?? false;
  }
  /** What web-llm leaves after a full download of a model (one shard) at `base`. */
  putModel(base: string, lib: string): void {
    for (const f of ['tensor-cache.json', 'params_shard_0.bin', 'tokenizer.json']) this.put('webllm/model', base + f);
    this.put('webllm/config', base + 'mlc-chat-config.json');
    this.put('webllm/wasm', lib);
  }
}

function setup(options: { features?: string[]; noGpu?: boolean; sources?: Record<string, { model: string; modelLib: string }>; evolved?: Record<string, EvolvedRecordRef> } = {}) {
  const fakes: FakeMlc[] = [];
  const caches = new FakeCaches();
  const cacheCalls: { op: string; id: string; url: string }[] = [];
  const endpoints: MessagePort[] = [];
  const lib: WebLlmLib = {
    createEngine: () => {
      const f = new FakeMlc();
      fakes.push(f);
      return f;
    },
    prebuiltAppConfig,
    // Like web-llm: cached = tensor-cache.json and every shard it lists are in `webllm/model`.
    hasModelInCache: async (id, cfg) => {
      const base = modelBaseUrl(cfg.model_list[0].model);
      cacheCalls.push({ op: 'has', id, url: base });
      return caches.has('webllm/model', base + 'tensor-cache.json') && caches.has('webllm/model', base + 'params_shard_0.bin');
    },
    // Like web-llm: reads tensor-cache.json through fetchWithCache, i.e. downloads it when it is not cached.
    deleteModelAllInfoInCache: async (id, cfg) => {
      const r = cfg.model_list[0];
      const base = modelBaseUrl(r.model);
      cacheCalls.push({ op: 'delete', id, url: base });
      if (!caches.has('webllm/model', base + 'tensor-cache.json')) throw new TypeError('Failed to fetch');
      const model = await caches.open('webllm/model');
      for (const f of ['tensor-cache.json', 'params_shard_0.bin', 'tokenizer.json']) await model.delete(base + f);
      await (await caches.open('webllm/config')).delete(base + 'mlc-chat-config.json');
      await (await caches.open('webllm/wasm')).delete(r.model_lib);
    },
    gpu: options.noGpu ? undefined : fakeGpu(options.features ?? []),
    caches,
  };
  const spawn = (): Endpoint => {
    const { port1, port2 } = new MessageChannel();
    channels.push(port1, port2);
    serveWebLlm(port2, lib);
    endpoints.push(port1);
    return port1;
  };
  const engine = new WebLlmEngine({ spawn, sources: options.sources, evolved: async (id) => options.evolved?.[id] ?? null });
  return { engine, fakes, caches, cacheCalls, endpoints, fake: () => fakes[fakes.length - 1] };
}

describe('WebLlmEngine over the worker protocol', () => {
  it('loads the q4f32_1 variant on an adapter without shader-f16, with mapped progress', async () => {
    const { engine, fake } = setup({ features: [] });
    const progress: LoadProgress[] = [];
    await engine.load('qwen2.5-0.5b', { onProgress: (p) => progress.push(p) });
    expect(engine.modelId).toBe('Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
    expect(engine.choice?.reason).toContain('lacks the WebGPU feature shader-f16');
    expect(fake().reloads).toEqual(['Qwen2.5-0.5B-Instruct-q4f32_1-MLC']);
    // The worker hands web-llm the prebuilt record (its URLs and overrides), nothing else.
    const record = prebuiltAppConfig.model_list.find((r) => r.model_id === 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
    expect(fake().appConfig).toEqual({ model_list: [record], cacheBackend: 'cache' });
    expect(progress.map((p) => p.phase)).toEqual(['select', 'download', 'download', 'compile', 'ready']);
    expect(progress[2]).toMatchObject({ fraction: 0.5, bytesLoaded: 300 * 1024 * 1024 });
    expect(engine.gpu?.description).toBe('SwiftShader Device');
  });

  it('loads q4f16_1 when the adapter has shader-f16, and uses source URLs when given', async () => {
    const sources = { 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC': { model: 'http://127.0.0.1:9/mirror/qwen/', modelLib: 'http://127.0.0.1:9/libs/qwen.wasm' } };
    const { engine, fake } = setup({ features: ['shader-f16'], sources });
    await engine.load('qwen2.5-0.5b');
    expect(engine.modelId).toBe('Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
    expect(fake().appConfig?.model_list[0]).toMatchObject({ model: 'http://127.0.0.1:9/mirror/qwen/', model_lib: 'http://127.0.0.1:9/libs/qwen.wasm' });
  });

  it('fails with webgpu-unavailable before downloading anything when the worker has no WebGPU', async () => {
    const { engine, fakes } = setup({ noGpu: true });
    const e = await engine.load('smollm2-360m').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'webgpu-unavailable', message: expect.stringContaining('Use the tfjs engine on the wasm backend') });
    expect(fakes.flatMap((f) => f.reloads)).toEqual([]);
    expect(await engine.probe()).toMatchObject({ available: false });
  });

  it('refuses an f16 build on an adapter without shader-f16 before downloading, naming the f32 build', async () => {
    const { engine, fakes } = setup({ features: [] });
    const e = await engine.load('Llama-3.2-1B-Instruct-q4f16_1-MLC').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'shader-f16-missing', message: expect.stringContaining('Pick Llama-3.2-1B-Instruct-q4f32_1-MLC instead') });
    expect(fakes.flatMap((f) => f.reloads)).toEqual([]);
    expect(engine.modelId).toBeNull();
  });

  it('streams a chat with tokens, maps every setting, and reports web-llm usage', async () => {
    const { engine, fake } = setup({ features: ['shader-f16'] });
    await engine.load('qwen3-0.6b');
    const tokens: string[] = [];
    const r = await engine.chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello.' },
      ],
      maxTokens: 64,
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      repetitionPenalty: 1.1,
      seed: 1234,
      stop: ['\n\n'],
      onToken: (t) => tokens.push(t),
    });
    expect(r.text).toBe('Hello there friend');
    expect(tokens).toEqual(['Hello ', 'there ', 'friend']);
    expect(r.finishReason).toBe('stop');
    expect(r.usage).toEqual({ promptTokens: 17, completionTokens: 3, prefillTokensPerSec: 340, decodeTokensPerSec: 42.5, totalMs: 500 });
    expect(fake().requests[0]).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello.' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 64,
      temperature: 0.7,
      top_p: 0.9,
      repetition_penalty: 1.1,
      seed: 1234,
      stop: ['\n\n'],
      extra_body: { enable_thinking: false }, // Qwen3: answer directly
    });
  });

  it('abort mid-stream interrupts web-llm and resolves with the text so far; the next chat runs', async () => {
    const { engine, fake } = setup({ features: [] });
    await engine.load('smollm2-360m');
    fake().reply = 'one two three four five six seven eight nine ten';
    fake().tokenDelayMs = 15;
    const controller = new AbortController();
    const tokens: string[] = [];
    const r = await engine.chat({
      messages: [{ role: 'user', content: 'count' }],
      signal: controller.signal,
      onToken: (t) => {
        tokens.push(t);
        if (tokens.length === 2) controller.abort();
      },
    });
    expect(r.finishReason).toBe('abort');
    expect(r.text).toBe('one two ');
    expect(r.usage).toMatchObject({ completionTokens: 2, approximate: true });
    await tick(40);
    expect(fake().interrupts).toBe(1);
    fake().reply = 'ok';
    fake().tokenDelayMs = 1;
    const next = await engine.chat({ messages: [{ role: 'user', content: 'again' }] });
    expect(next.text).toBe('ok');
  });

  it('an already-aborted signal rejects with aborted', async () => {
    const { engine } = setup({ features: [] });
    await engine.load('smollm2-360m');
    const c = new AbortController();
    c.abort();
    await expect(engine.chat({ messages: [{ role: 'user', content: 'x' }], signal: c.signal })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('device lost: the error says to reload, the engine unloads, and the next request reloads the model', async () => {
    const { engine, fake } = setup({ features: [] });
    await engine.load('smollm2-360m');
    // What web-llm does on GPUDevice.lost: it unloads itself; the next request then finds no model.
    fake().loaded = null;
    const e = await engine.chat({ messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'device-lost', message: expect.stringContaining('The GPU was reset') });
    expect(engine.modelId).toBeNull();
    const r = await engine.chat({ messages: [{ role: 'user', content: 'hi again' }] });
    expect(r.text).toBe('Hello there friend');
    expect(fake().reloads).toEqual(['SmolLM2-360M-Instruct-q4f32_1-MLC', 'SmolLM2-360M-Instruct-q4f32_1-MLC']);
    expect(engine.modelId).toBe('SmolLM2-360M-Instruct-q4f32_1-MLC');
  });

  it('a device lost while loading becomes an out-of-memory hint', async () => {
    const { engine, fake } = setup({ features: [] });
    await engine.load('smollm2-135m'); // starts the worker and its (fake) MLCEngine
    fake().reloadError = named('DeviceLostError', 'The WebGPU device was lost while loading the model.');
    await expect(engine.load('qwen2.5-1.5b')).rejects.toMatchObject({ code: 'device-lost', message: expect.stringContaining('ran out of memory while loading') });
    expect(engine.modelId).toBeNull();
  });

  it('a download failure is a typed network error naming the hosts', async () => {
    const { engine, fake } = setup({ features: [] });
    await engine.load('smollm2-135m');
    fake().reloadError = new TypeError('Failed to fetch');
    const e = await engine.load('smollm2-360m').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'network' });
    expect((e as AppError).message).toContain('Could not download SmolLM2-360M-Instruct-q4f32_1-MLC: Failed to fetch');
    expect((e as AppError).message).toContain('huggingface.co and raw.githubusercontent.com');
  });

  it('aborting a load stops web-llm (unload) and rejects with aborted', async () => {
    const { engine, fake } = setup({ features: [] });
    await engine.load('smollm2-135m');
    let open!: () => void;
    fake().reloadGate = new Promise<void>((r) => (open = r));
    const controller = new AbortController();
    const load = engine.load('smollm2-360m', {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'download' && p.fraction === 0.5) controller.abort();
      },
    });
    await expect(load).rejects.toMatchObject({ code: 'aborted' });
    await tick(10);
    expect(fake().unloads).toBeGreaterThan(0);
    open();
    expect(engine.modelId).toBeNull();
  });

  it('refuses adapters: web-llm cannot apply LoRA', async () => {
    const { engine } = setup({ features: [] });
    await engine.load('smollm2-135m');
    await expect(engine.chat({ messages: [{ role: 'user', content: 'x' }], adapterId: 'a1' })).rejects.toMatchObject({ code: 'unsupported' });
  });

  it('chat before load is a clear error', async () => {
    const { engine } = setup({ features: [] });
    await expect(engine.chat({ messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('Load a model first') });
  });

  it('lists cached and partly downloaded models, with the same URLs the loader uses', async () => {
    const sources = { 'SmolLM2-135M-Instruct-q0f32-MLC': { model: 'http://localhost:4180/mirror/smol', modelLib: 'http://localhost:4180/smol.wasm' } };
    const { engine, caches, cacheCalls } = setup({ features: [], sources });
    caches.putModel('http://localhost:4180/mirror/smol/resolve/main/', 'http://localhost:4180/smol.wasm');
    const qwen = 'https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC/resolve/main/';
    caches.put('webllm/config', qwen + 'mlc-chat-config.json'); // a download that stopped after the config
    const all = await engine.listCached();
    expect(all.length).toBeGreaterThanOrEqual(20);
    expect(all.filter((m) => m.entries > 0)).toEqual([
      { webllmId: 'SmolLM2-135M-Instruct-q0f32-MLC', cached: true, entries: 5 },
      { webllmId: 'Qwen3-0.6B-q4f32_1-MLC', cached: false, entries: 1 },
    ]);
    expect(cacheCalls.find((c) => c.id === 'Qwen3-0.6B-q4f32_1-MLC')?.url).toBe(qwen);
  });

  it('deletes a cached model through web-llm, and a partial one without touching the network', async () => {
    const sources = { 'SmolLM2-135M-Instruct-q0f32-MLC': { model: 'http://localhost:4180/mirror/smol/', modelLib: 'http://localhost:4180/smol.wasm' } };
    const { engine, caches, cacheCalls } = setup({ features: [], sources });
    caches.putModel('http://localhost:4180/mirror/smol/resolve/main/', 'http://localhost:4180/smol.wasm');
    caches.put('webllm/model', 'http://localhost:4180/mirror/smol/resolve/main/params_shard_1.bin'); // a stray shard
    expect(await engine.deleteCached('SmolLM2-135M-Instruct-q0f32-MLC')).toBe(6);
    expect((await engine.listCached(['SmolLM2-135M-Instruct-q0f32-MLC']))[0]).toMatchObject({ cached: false, entries: 0 });
    // Partial: web-llm's delete would download tensor-cache.json (and fail offline); ours sweeps instead.
    const qwen = 'https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC/resolve/main/';
    caches.put('webllm/config', qwen + 'mlc-chat-config.json');
    cacheCalls.length = 0;
    expect(await engine.deleteCached('Qwen3-0.6B-q4f32_1-MLC')).toBe(1);
    expect(cacheCalls.filter((c) => c.op === 'delete')).toEqual([]);
    await expect(engine.deleteCached('not-a-model')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses to delete the files of the loaded model', async () => {
    const { engine } = setup({ features: [] });
    await engine.load('smollm2-360m');
    await expect(engine.deleteCached('SmolLM2-360M-Instruct-q4f32_1-MLC')).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('Unload it') });
  });

  it('a worker crash rejects the pending call; the next request starts a new worker and reloads', async () => {
    const { engine, fakes, endpoints } = setup({ features: [] });
    await engine.load('smollm2-360m');
    fakes[0].tokenDelayMs = 20;
    const pending = engine.chat({ messages: [{ role: 'user', content: 'hi' }] });
    await tick(5);
    endpoints[0].dispatchEvent(new Event('error'));
    await expect(pending).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('the web-llm worker crashed') });
    expect(engine.modelId).toBeNull();
    const r = await engine.chat({ messages: [{ role: 'user', content: 'hi' }] });
    expect(r.text).toBe('Hello there friend');
    expect(endpoints).toHaveLength(2);
    expect(fakes[1].reloads).toEqual(['SmolLM2-360M-Instruct-q4f32_1-MLC']);
  });

  it('unload tells the worker and forgets the model', async () => {
    const { engine, fake } = setup({ features: [] });
    await engine.load('smollm2-360m');
    await engine.unload();
    expect(engine.modelId).toBeNull();
    expect(fake().unloads).toBe(1);
    await expect(engine.chat({ messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ code: 'engine' });
  });
});

describe('evolved models through the worker', () => {
  const base = 'SmolLM2-360M-Instruct-q4f32_1-MLC';
  const baseRecord = prebuiltAppConfig.model_list.find((r) => r.model_id === base)!;
  const evolved: EvolvedRecordRef = { baseWebllmId: base, model: 'http://localhost:5173/webllm-evolved/smol-evolved-1/resolve/main/', modelLib: baseRecord.model_lib };

  it('reloads the evolved id with the base record, its own folder and the base library', async () => {
    const { engine, fake } = setup({ features: [], evolved: { 'smol-evolved-1': evolved } });
    const progress: LoadProgress[] = [];
    await engine.load('smol-evolved-1', { onProgress: (p) => progress.push(p) });
    expect(engine.modelId).toBe('smol-evolved-1');
    expect(fake().reloads).toEqual(['smol-evolved-1']);
    expect(fake().appConfig).toEqual({ model_list: [{ ...baseRecord, model_id: 'smol-evolved-1', model: evolved.model, model_lib: baseRecord.model_lib }], cacheBackend: 'cache' });
    expect(progress[0].text).toContain(`smol-evolved-1 is evolved from ${base}`);
    expect(engine.choice?.variant.webllmId).toBe(base);
  });

  it('refuses an evolved model whose base needs shader-f16 on an adapter without it, before any reload', async () => {
    const f16 = { ...evolved, baseWebllmId: 'SmolLM2-360M-Instruct-q4f16_1-MLC' };
    const { engine, fakes } = setup({ features: [], evolved: { 'smol-f16-evolved': f16 } });
    await expect(engine.load('smol-f16-evolved')).rejects.toMatchObject({ code: 'shader-f16-missing' });
    expect(fakes.flatMap((f) => f.reloads)).toEqual([]);
  });

  it('an evolved model URL must be absolute', async () => {
    const { engine } = setup({ features: [], evolved: { 'rel-evolved': { ...evolved, model: '/webllm-evolved/x/' } } });
    await expect(engine.load('rel-evolved')).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('not an absolute http(s) URL') });
  });

  it('tells the page the record URLs of a base (where its files and library are cached)', async () => {
    const { engine } = setup({ features: [] });
    expect(await engine.recordUrls(base)).toEqual({ webllmId: base, model: baseRecord.model, modelLib: baseRecord.model_lib });
  });
});

describe('a web-llm actor evolving through the worker (MLCEngine stood in: no WebGPU compute here)', () => {
  const base = 'SmolLM2-135M-Instruct-q0f32-MLC';
  const baseRecord = prebuiltAppConfig.model_list.find((r) => r.model_id === base)!;

  it('trains on tfjs from the cached MLC files, merges, and reloads web-llm on the evolved id, then back on the base', async () => {
    // The toy model's MLC files (made by the project) stand at the catalog build's URLs in web-llm's cache.
    const cache = new MemoryCacheStorage();
    await cacheAsWebLlm(cache, baseRecord.model, await mlcFiles('toy-arith', 'q0f32'));
    const refs: Record<string, EvolvedRecordRef> = {};
    const { engine, fake } = setup({ features: [], evolved: refs });
    await engine.load(base);
    const trainer = new TfjsLocalEngine({ host: { ...nodeTfjsHostDeps(), webllmCaches: () => cache }, backend: 'wasm', source: { kind: 'webllm-cache', model: baseRecord.model } });
    await trainer.load(base);
    const evolvedBase: EvolvedBase = { webllmId: base, quantization: 'q0f32', modelLib: baseRecord.model_lib };
    const actor = new EvolvingActor({
      generator: engine,
      trainer,
      startModelId: base,
      base: evolvedBase,
      startModel: baseRecord.model,
      origin: 'http://localhost:5173',
      evolve: async (p, o) => {
        const m = await evolveIntoCache(cache, p, o);
        refs[m.webllmId] = evolvedRecordRef(m);
        return m;
      },
      find: (id) => findEvolvedForAdapter(cache, id, base),
      newId: () => 'smol-evolved-a1',
    });
    const rows = [{ messages: [{ role: 'user' as const, content: 'What is 100 + 200?' }, { role: 'assistant' as const, content: '300' }] }];
    const out = await actor.train({ adapterId: 'a1', fromAdapterId: null, data: { method: 'sft', rows }, config: { ...toySelfTrainConfig(TOY_SELF_TRAIN, 1), steps: 2 } });
    expect(out.status).toBe('completed');
    expect(fake().reloads).toEqual([base]); // merging and registering need no reload
    const reply = await actor.chat({ messages: [{ role: 'user', content: 'hi' }], adapterId: 'a1' });
    expect(reply.text).toBe('Hello there friend');
    expect(fake().reloads).toEqual([base, 'smol-evolved-a1']);
    expect(fake().appConfig).toEqual({
      model_list: [{ ...baseRecord, model_id: 'smol-evolved-a1', model: 'http://localhost:5173/webllm-evolved/smol-evolved-a1/resolve/main/', model_lib: baseRecord.model_lib }],
      cacheBackend: 'cache',
    });
    await actor.chat({ messages: [{ role: 'user', content: 'hi' }], adapterId: 'a1' });
    expect(fake().reloads).toHaveLength(2); // the same adapter: no switch
    await actor.chat({ messages: [{ role: 'user', content: 'hi' }], adapterId: null });
    expect(fake().reloads).toEqual([base, 'smol-evolved-a1', base]);
    await trainer.unload();
  }, 60_000);
});

describe('web-llm progress and errors, mapped', () => {
  it('derives the folder URL web-llm fetches from, as web-llm does', () => {
    expect(modelBaseUrl('https://huggingface.co/mlc-ai/X-MLC')).toBe('https://huggingface.co/mlc-ai/X-MLC/resolve/main/');
    expect(modelBaseUrl('https://huggingface.co/mlc-ai/X-MLC/')).toBe('https://huggingface.co/mlc-ai/X-MLC/resolve/main/');
    expect(modelBaseUrl('http://localhost:4180/a/b/resolve/dev')).toBe('http://localhost:4180/a/b/resolve/dev/');
  });

  it('maps web-llm progress texts to phases, fractions and bytes', () => {
    expect(mapWebLlmProgress({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' })).toEqual({ phase: 'download', fraction: 0, text: 'Start to fetch params', bytesLoaded: null });
    expect(mapWebLlmProgress({ progress: 0.25, timeElapsed: 3, text: 'Loading model from cache[2/8]: 64MB loaded. 25% completed, 3 secs elapsed.' })).toMatchObject({ phase: 'cache', fraction: 0.25, bytesLoaded: 64 * 2 ** 20 });
    expect(mapWebLlmProgress({ progress: 0.4, timeElapsed: 3, text: 'Loading GPU shader modules[4/10]: 40% completed, 3 secs elapsed.' }).phase).toBe('compile');
    expect(mapWebLlmProgress({ progress: 1, timeElapsed: 9, text: 'Finish loading on WebGPU - google' }).phase).toBe('ready');
    expect(mapWebLlmProgress({ progress: NaN, timeElapsed: 0, text: 'something new' })).toMatchObject({ phase: 'weights', fraction: null });
  });

  const ctx = { phase: 'load' as const, webllmId: 'X-q4f16_1-MLC', wasLoaded: false, hosts: ['huggingface.co'] };

  it('turns web-llm and browser errors into typed errors that say what to do', () => {
    const cases: [Error, string, string][] = [
      [named('WebGPUNotAvailableError', 'WebGPU is not supported'), 'webgpu-unavailable', 'tfjs engine'],
      [named('ShaderF16SupportError', 'This model requires WebGPU extension shader-f16'), 'shader-f16-missing', 'q4f32_1'],
      [named('FeatureSupportError', 'This model requires feature shader-f16, which is not yet supported'), 'shader-f16-missing', 'q4f32_1'],
      [named('DeviceLostError', 'The WebGPU device was lost while loading the model.'), 'device-lost', 'ran out of memory'],
      [named('ModelNotFoundError', 'Cannot find model record'), 'not-found', 'catalog'],
      [named('MinValueError', 'Make sure `max_tokens` > 0.'), 'bad-input', 'max_tokens'],
      [named('RangeError', 'Make sure 0 < top_p <= 1.'), 'bad-input', 'top_p'],
      [new RangeError('Array buffer allocation failed'), 'engine', 'Out of memory'],
      [new TypeError('Failed to fetch'), 'network', 'huggingface.co'],
      [new TypeError("Failed to execute 'add' on 'Cache': Request failed"), 'network', 'Could not download'],
      [new Error('Cannot fetch https://huggingface.co/x/resolve/main/mlc-chat-config.json'), 'network', 'stay cached'],
      [named('QuotaExceededError', 'quota'), 'quota-exceeded', 'Delete cached models'],
      [named('AbortError', 'aborted'), 'aborted', 'Stopped'],
      [new Error('something odd'), 'engine', 'web-llm failed while loading X-q4f16_1-MLC: something odd'],
    ];
    for (const [err, code, text] of cases) {
      const a = classifyWebLlmError(err, ctx);
      expect(a.code, err.name + ': ' + err.message).toBe(code);
      expect(a.message).toContain(text);
    }
  });

  it('"model not loaded" means device loss only when the model was loaded', () => {
    const notLoaded = named('ModelNotLoadedError', 'Model not loaded');
    expect(classifyWebLlmError(notLoaded, { ...ctx, phase: 'chat', wasLoaded: true }).code).toBe('device-lost');
    expect(classifyWebLlmError(notLoaded, { ...ctx, phase: 'chat', wasLoaded: false }).code).toBe('engine');
    expect(classifyWebLlmError(new Error('GPUDevice was lost: destroyed'), { ...ctx, phase: 'chat' }).message).toContain('The GPU was reset');
  });
});
