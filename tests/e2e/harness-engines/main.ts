/**
 * Exposes the engine plumbing to Playwright as `window.engineHarness`. Every function returns plain data
 * (errors as `{ code, message }`) so page.evaluate can hand it back to the test.
 */
import { chooseVariant, findEntry } from '../../../src/core/engine/catalog.ts';
import { probeGpu, type GpuInfo } from '../../../src/core/engine/gpu.ts';
import { createWorkerClient } from '../../../src/core/engine/protocol-client.ts';
import type { LoadProgress } from '../../../src/core/engine/types.ts';
import type { WebLlmSource } from '../../../src/core/engine/webllm/api.ts';
import { WebLlmEngine } from '../../../src/core/engine/webllm/engine.ts';
import { spawnWebLlmWorker } from '../../../src/core/engine/webllm/spawn.ts';
import { AppError } from '../../../src/core/errors.ts';
import './evolved-page.ts'; // window.evolvedHarness (engine-webllm-evolved.spec.ts)

interface Outcome<T> {
  ok: boolean;
  value: T | null;
  error: { code: string; message: string; typed: boolean } | null;
}

async function outcome<T>(f: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f(), error: null };
  } catch (e) {
    const typed = e instanceof AppError;
    return {
      ok: false,
      value: null,
      error: { code: typed ? e.code : 'untyped', message: e instanceof Error ? e.message : String(e), typed },
    };
  }
}

/** Sources for every web-llm variant of a catalog entry, all under `base`. */
function sourcesFor(catalogId: string, base: string): Record<string, WebLlmSource> {
  const entry = findEntry(catalogId);
  if (!entry || entry.kind !== 'webllm') throw new Error(`no web-llm entry ${catalogId}`);
  const out: Record<string, WebLlmSource> = {};
  for (const v of entry.variants) out[v.webllmId] = { model: `${base}/${v.webllmId}/resolve/main/`, modelLib: `${base}/libs/${v.webllmId}.wasm` };
  return out;
}

const harness = {
  /** The worker's adapter, the page's adapter, and the variant the catalog picks for `catalogId`. */
  probe: (catalogId: string) =>
    outcome(async () => {
      const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker });
      try {
        const worker: GpuInfo = await engine.probe();
        const page: GpuInfo = await probeGpu(navigator.gpu);
        const entry = findEntry(catalogId);
        if (!entry || entry.kind !== 'webllm') throw new Error(`no web-llm entry ${catalogId}`);
        const choice = chooseVariant(entry, worker);
        return { worker, page, webllmId: choice.variant.webllmId, reason: choice.reason };
      } finally {
        engine.dispose();
      }
    }),

  /** Loads `catalogId` with every file URL under `base` (a server without the files): must fail typed. */
  loadFrom: (catalogId: string, base: string) =>
    outcome(async () => {
      const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker, sources: sourcesFor(catalogId, base) });
      const progress: LoadProgress[] = [];
      try {
        await engine.load(catalogId, { onProgress: (p) => progress.push(p) });
        return { modelId: engine.modelId, progress };
      } finally {
        engine.dispose();
      }
    }),

  /**
   * Cache listing and deletion through the worker, against the real Cache API and web-llm's own cache
   * functions: a model "downloaded" from `base` (seeded here with web-llm's file layout, one shard) and a
   * partial download of a model from its real URL (config only). Nothing is fetched.
   */
  cache: (catalogId: string, base: string) =>
    outcome(async () => {
      const sources = sourcesFor(catalogId, base);
      const full = Object.keys(sources)[0];
      const modelUrl = sources[full].model;
      const partial = 'Qwen3-0.6B-q4f32_1-MLC';
      const partialConfig = `https://huggingface.co/mlc-ai/${partial}/resolve/main/mlc-chat-config.json`;
      const json = (o: unknown) => new Response(JSON.stringify(o), { headers: { 'Content-Type': 'application/json' } });
      const model = await caches.open('webllm/model');
      await model.put(`${modelUrl}tensor-cache.json`, json({ metadata: {}, records: [{ dataPath: 'params_shard_0.bin', format: 'raw-shard', nbytes: 4, records: [] }] }));
      await model.put(`${modelUrl}params_shard_0.bin`, new Response(new Uint8Array([1, 2, 3, 4])));
      await model.put(`${modelUrl}tokenizer.json`, json({}));
      await (await caches.open('webllm/config')).put(`${modelUrl}mlc-chat-config.json`, json({}));
      await (await caches.open('webllm/wasm')).put(sources[full].modelLib, new Response(new Uint8Array([0, 97, 115, 109])));
      await (await caches.open('webllm/config')).put(partialConfig, json({}));

      const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker, sources });
      try {
        const before = await engine.listCached();
        const removedFull = await engine.deleteCached(full);
        const removedPartial = await engine.deleteCached(partial);
        const after = await engine.listCached([full, partial]);
        let left = 0;
        for (const scope of ['webllm/model', 'webllm/config', 'webllm/wasm']) left += (await (await caches.open(scope)).keys()).length;
        return { count: before.length, present: before.filter((m) => m.entries > 0), full, removedFull, removedPartial, after, left };
      } finally {
        engine.dispose();
      }
    }),

  chatWithoutModel: () =>
    outcome(async () => {
      const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker });
      try {
        return await engine.chat({ messages: [{ role: 'user', content: 'hi' }] });
      } finally {
        engine.dispose();
      }
    }),

  /** A worker whose script throws at start: the pending call must reject with a typed error. */
  crash: () =>
    outcome(async () => {
      const url = URL.createObjectURL(new Blob(['throw new Error("boom at start")'], { type: 'text/javascript' }));
      const worker = new Worker(url, { type: 'module' });
      const client = createWorkerClient<{ ping: { params: null; result: string } }>(worker, 'the crash-test worker');
      try {
        return await client.call('ping', null);
      } finally {
        client.close();
        URL.revokeObjectURL(url);
      }
    }),
};

declare global {
  interface Window {
    engineHarness: typeof harness;
  }
}

window.engineHarness = harness;
document.getElementById('status')!.textContent = 'ready';
