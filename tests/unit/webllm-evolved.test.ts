/**
 * Evolved models in web-llm's cache scopes (src/core/engine/webllm/evolved.ts), on an in-memory Cache API
 * with a byte quota: registering writes each file where web-llm's loader reads it (and nothing else),
 * listing survives a new session, rename and delete touch only the evolved model (never the base's files or
 * library), a full quota fails with quota-exceeded and leaves nothing behind, and the cached files load
 * back into the runtime through webllmCacheSource with the same logits.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { webllmCacheSource } from '../../src/core/engine/webllm/cache-source.ts';
import {
  deleteEvolvedModel,
  EVOLVED_REGISTRY_SCOPE,
  evolvedModelId,
  evolvedModelUrl,
  listEvolvedModels,
  registerEvolvedModel,
  renameEvolvedModel,
  type EvolvedBase,
} from '../../src/core/engine/webllm/evolved.ts';
import { MemoryCacheStorage } from '../../src/cli/webllm-node.ts';
import { parsePeftConfig } from '../../src/core/lora/peft-load.ts';
import type { Adapter } from '../../src/db/types.ts';
import { evolvedParentId, missingParentText, parentEvolveParams, parentNote } from '../../src/ui/adapters/evolve-webllm.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkerClient } from '../../src/core/engine/protocol-client.ts';
import type { EvolveApi, EvolveProgress } from '../../src/core/engine/webllm/evolve-api.ts';
import { serveEvolve } from '../../src/core/engine/webllm/evolve-host.ts';
import { loadMlcModel } from '../../src/core/mlc/load.ts';
import { TfjsLocalEngine } from '../../src/core/engine/tfjs/local.ts';
import { nodeTfjsHostDeps } from '../../src/core/engine/tfjs/node-local.ts';
import { adapterDir, maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { logitsOf, maxAbs, mlcFiles, mlcSource, testRows } from './mlc-helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ORIGIN = 'http://localhost:5173';
const BASE_ID = 'SmolLM2-135M-Instruct-q0f32-MLC';
const BASE_URL = `https://huggingface.co/mlc-ai/${BASE_ID}/resolve/main/`;
const BASE_LIB = 'https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_86/base/SmolLM2-135M-Instruct-q0f32_cs1k-webgpu.wasm';
const base: EvolvedBase = { webllmId: BASE_ID, quantization: 'q0f32', modelLib: BASE_LIB };

/** A downloaded base as web-llm leaves it in the cache (a few entries) — which nothing here may touch. */
async function withBase(caches: MemoryCacheStorage): Promise<void> {
  for (const f of ['tensor-cache.json', 'params_shard_0.bin', 'tokenizer.json']) await (await caches.open('webllm/model')).put(BASE_URL + f, new Response('base'));
  await (await caches.open('webllm/config')).put(BASE_URL + 'mlc-chat-config.json', new Response('{}'));
  await (await caches.open('webllm/wasm')).put(BASE_LIB, new Response('wasm'));
}

function baseEntries(caches: MemoryCacheStorage): string[] {
  return ['webllm/model', 'webllm/config', 'webllm/wasm'].flatMap((s) => caches.urls(s).filter((u) => u.startsWith(BASE_URL) || u === BASE_LIB));
}

describe('evolved models in the Cache API', () => {
  it('are written where web-llm reads them, listed, and load back with the same logits', async () => {
    const caches = new MemoryCacheStorage();
    await withBase(caches);
    const files = await mlcFiles('tiny-llama', 'q0f32');
    const progress: number[] = [];
    const id = evolvedModelId(BASE_ID, 1_700_000_000_000);
    const m = await registerEvolvedModel(caches, base, id, files, { origin: ORIGIN, name: 'Smol, round 1', onProgress: (w) => progress.push(w), now: 5 });
    const folder = `${ORIGIN}/webllm-evolved/${id}/resolve/main/`;
    expect(m).toMatchObject({ webllmId: id, name: 'Smol, round 1', model: folder, base, createdAt: 5 });
    expect(evolvedModelUrl(ORIGIN, id)).toBe(folder);
    expect(caches.urls('webllm/config').filter((u) => u.startsWith(folder))).toEqual([`${folder}mlc-chat-config.json`]);
    expect(caches.urls('webllm/model').filter((u) => u.startsWith(folder))).toEqual(
      ['params_shard_0.bin', 'tensor-cache.json', 'tokenizer.json', 'tokenizer_config.json'].map((f) => folder + f),
    );
    expect(caches.urls('webllm/wasm')).toEqual([BASE_LIB]); // the base's library is reused, not copied
    const total = [...files.values()].reduce((n, b) => n + b.byteLength, 0);
    expect(m.bytes).toBe(total);
    expect(progress.at(-1)).toBe(total);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    // The files read back from the cache scopes load into the runtime and compute the same logits.
    const rows = testRows('tiny-llama');
    const direct = await loadMlcModel(mlcSource('direct', files));
    const cached = await loadMlcModel(webllmCacheSource(caches, m.model));
    expect(maxAbs(await logitsOf(cached, rows), await logitsOf(direct, rows))).toBe(0);
    direct.dispose();
    cached.dispose();
    expect(baseEntries(caches)).toHaveLength(5);
  });

  it('survive a new session; rename changes the name only; delete removes only the evolved model', async () => {
    const caches = new MemoryCacheStorage();
    await withBase(caches);
    const files = await mlcFiles('tiny-llama', 'q0f32');
    await registerEvolvedModel(caches, base, 'evolved-b', files, { origin: ORIGIN, name: 'second', now: 20 });
    await registerEvolvedModel(caches, base, 'evolved-a', files, { origin: ORIGIN, name: 'first', now: 10 });
    // A "reload": nothing is kept in memory; the list comes from the cache.
    expect((await listEvolvedModels(caches)).map((m) => [m.webllmId, m.name])).toEqual([
      ['evolved-a', 'first'],
      ['evolved-b', 'second'],
    ]);
    const renamed = await renameEvolvedModel(caches, 'evolved-a', '  kept this one  ');
    expect(renamed.name).toBe('kept this one');
    expect((await listEvolvedModels(caches)).find((m) => m.webllmId === 'evolved-a')?.model).toBe(`${ORIGIN}/webllm-evolved/evolved-a/resolve/main/`);
    await expect(renameEvolvedModel(caches, 'evolved-a', '   ')).rejects.toMatchObject({ code: 'bad-input' });
    expect(await deleteEvolvedModel(caches, 'evolved-b')).toBe(5);
    expect((await listEvolvedModels(caches)).map((m) => m.webllmId)).toEqual(['evolved-a']);
    expect(caches.urls('webllm/model').some((u) => u.includes('/evolved-b/'))).toBe(false);
    expect(baseEntries(caches)).toHaveLength(5);
    await expect(deleteEvolvedModel(caches, 'evolved-b')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('a full quota fails with quota-exceeded, keeps nothing of the new model and leaves the base intact', async () => {
    const files = await mlcFiles('tiny-llama', 'q0f32');
    const total = [...files.values()].reduce((n, b) => n + b.byteLength, 0);
    const caches = new MemoryCacheStorage(total / 2);
    await withBase(caches);
    const snapshot = () => JSON.stringify([...caches.scopes].filter(([, v]) => v.size > 0).map(([k, v]) => [k, [...v.keys()]]));
    const before = snapshot();
    const e = await registerEvolvedModel(caches, base, 'too-big', files, { origin: ORIGIN, name: 'too big' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'quota-exceeded' });
    expect((e as Error).message).toContain(`${BASE_ID} is untouched`);
    expect(snapshot()).toBe(before);
    expect(await listEvolvedModels(caches)).toEqual([]);
    // With a storage estimate, nothing is even attempted.
    const estimate = async () => ({ usage: 100, quota: 100 + total - 1 });
    const roomy = new MemoryCacheStorage();
    await expect(registerEvolvedModel(roomy, base, 'estimated', files, { origin: ORIGIN, name: 'x', estimate })).rejects.toMatchObject({ code: 'quota-exceeded' });
    expect(roomy.urls('webllm/model')).toEqual([]);
  });

  it('refuses unsafe or taken ids and incomplete files', async () => {
    const caches = new MemoryCacheStorage();
    const files = await mlcFiles('tiny-llama', 'q0f32');
    await expect(registerEvolvedModel(caches, base, '../x', files, { origin: ORIGIN, name: 'x' })).rejects.toMatchObject({ code: 'bad-input' });
    await expect(registerEvolvedModel(caches, base, BASE_ID, files, { origin: ORIGIN, name: 'x' })).rejects.toMatchObject({ code: 'bad-input' });
    await registerEvolvedModel(caches, base, 'taken', files, { origin: ORIGIN, name: 'x' });
    await expect(registerEvolvedModel(caches, base, 'taken', files, { origin: ORIGIN, name: 'y' })).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('exists already') });
    const partial = new Map(files);
    partial.delete('params_shard_0.bin');
    await expect(registerEvolvedModel(caches, base, 'partial', partial, { origin: ORIGIN, name: 'x' })).rejects.toMatchObject({ code: 'mlc' });
    expect(caches.urls('webllm/model').some((u) => u.includes('/partial/'))).toBe(false);
  });

  it('skips unreadable records in the list', async () => {
    const caches = new MemoryCacheStorage();
    await (await caches.open(EVOLVED_REGISTRY_SCOPE)).put(`${ORIGIN}/webllm-evolved/junk/evolved-model.json`, new Response('{"webllmId": 3}'));
    expect(await listEvolvedModels(caches)).toEqual([]);
  });
});

/** The evolve worker's host and a client to it over a MessageChannel. */
function client(caches: MemoryCacheStorage) {
  const { port1, port2 } = new MessageChannel();
  const server = serveEvolve(port2, { caches });
  const c = createWorkerClient<EvolveApi>(port1, 'the evolve worker');
  return { c, close: () => (c.close(), server.close(), port1.close(), port2.close()) };
}

/** The tiny-llama fixture's adapter files. */
const adapter = () => ({
  adapterConfig: readFileSync(join(adapterDir('tiny-llama'), 'adapter_config.json'), 'utf8'),
  safetensors: new Uint8Array(readFileSync(join(adapterDir('tiny-llama'), 'adapter_model.safetensors'))),
});

/** The cached model at `model` computes the reference's adapted logits (tiny-llama + its adapter). */
async function expectAdaptedLogits(caches: MemoryCacheStorage, model: string): Promise<void> {
  const evolved = await loadMlcModel(webllmCacheSource(caches, model));
  const ids = reference('tiny-llama').input_ids;
  const got = await logitsOf(evolved, ids);
  evolved.dispose();
  const V = 300;
  const shaped = ids.map((r, i) => r.map((_, t) => Array.from(got.subarray((i * r.length + t) * V, (i * r.length + t + 1) * V))));
  expect(maxAbsDiff(shaped, reference('tiny-llama').logits_adapted)).toBeLessThan(1e-3);
}

describe('the evolve worker (host over a MessageChannel)', () => {
  /** The base "downloaded" by web-llm: its MLC files at the record's folder URL in web-llm's scopes. */
  async function downloadedBase(caches: MemoryCacheStorage): Promise<void> {
    for (const [name, bytes] of await mlcFiles('tiny-llama', 'q0f32')) {
      await (await caches.open(name === 'mlc-chat-config.json' ? 'webllm/config' : 'webllm/model')).put(BASE_URL + name, new Response(new Blob([bytes as Uint8Array<ArrayBuffer>])));
    }
  }

  it('merges an adapter into the cached base and registers it; the evolved model computes the adapted logits', async () => {
    const caches = new MemoryCacheStorage();
    await downloadedBase(caches);
    const { c, close } = client(caches);
    const progress: EvolveProgress[] = [];
    try {
      const m = await c.call('evolve', { adapter: adapter(), base, baseModel: `https://huggingface.co/mlc-ai/${BASE_ID}`, webllmId: 'smol-e1', name: 'round 1', origin: ORIGIN }, { onProgress: (p) => progress.push(p) });
      expect(m).toMatchObject({ webllmId: 'smol-e1', name: 'round 1', report: { exact: true, logitsKept: null } });
      expect(m.report?.weightKept).toBeCloseTo(1, 6);
      expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['merge', 'write']));
      expect(progress.at(-1)).toEqual({ phase: 'write', done: m.bytes, total: m.bytes });
      await expectAdaptedLogits(caches, m.model);
      expect(baseEntries(caches).length).toBeGreaterThan(0);
    } finally {
      close();
    }
  });

  it('refuses a base that is not in the cache, and a quota that is too small, writing nothing', async () => {
    const empty = new MemoryCacheStorage();
    const a = client(empty);
    try {
      await expect(a.c.call('evolve', { adapter: adapter(), base, baseModel: `https://huggingface.co/mlc-ai/${BASE_ID}`, webllmId: 'x1', name: 'x', origin: ORIGIN })).rejects.toMatchObject({ code: 'not-found', message: expect.stringContaining('Load it once with the web-llm engine') });
    } finally {
      a.close();
    }
    const small = new MemoryCacheStorage();
    await downloadedBase(small);
    small.quota = small.used + 1000;
    const b = client(small);
    try {
      await expect(b.c.call('evolve', { adapter: adapter(), base, baseModel: `https://huggingface.co/mlc-ai/${BASE_ID}`, webllmId: 'x2', name: 'x', origin: ORIGIN })).rejects.toMatchObject({ code: 'quota-exceeded' });
      expect(small.urls('webllm/model').some((u) => u.includes('/x2/'))).toBe(false);
      expect(await listEvolvedModels(small)).toEqual([]);
    } finally {
      b.close();
    }
  });
});

describe('"Make a web-llm model" for an adapter trained on an evolved model', () => {
  /** A stored adapter row whose base is `baseModelId` (as StoredTrainer saves one). */
  const row = (baseModelId: string): Adapter => {
    const f = adapter();
    return { id: 'a1', experimentId: 'e1', name: 'SRT SFT', baseModelId, config: parsePeftConfig(JSON.parse(f.adapterConfig)).lora, weights: new Blob([f.safetensors]), gguf: null, trainingRunId: null, createdAt: 0 };
  };

  it('merges into the evolved model\'s files (no catalog build needed in the cache), on its base\'s record and library', async () => {
    const caches = new MemoryCacheStorage();
    // The evolved model the adapter was trained on: here the tiny-llama files themselves, registered under an
    // evolved id; the catalog build it came from is not cached at all, so only the evolved model's files can serve.
    const parentId = evolvedModelId(BASE_ID, 1_700_000_000_000);
    const parent = await registerEvolvedModel(caches, base, parentId, await mlcFiles('tiny-llama', 'q0f32'), { origin: ORIGIN, name: 'Smol, round 1' });
    const trained = row(parentId);
    expect(evolvedParentId(trained)).toBe(parentId);
    expect(evolvedParentId(row(BASE_ID))).toBeNull();
    expect(parentNote(parent)).toContain(`trained on Smol, round 1 (${parentId}, evolved from ${BASE_ID}), so it is merged into that model's files`);
    expect(missingParentText(parentId)).toContain('cannot be merged into a catalog build');
    const params = await parentEvolveParams(trained, parent, 'SRT SFT (web-llm)', ORIGIN);
    expect(params).toMatchObject({ base, baseModel: parent.model, adapterId: 'a1' });
    expect(params.webllmId).toMatch(new RegExp(`^${BASE_ID}-evolved-[0-9a-z]+$`));
    await expect(parentEvolveParams(row(BASE_ID), parent, 'x', ORIGIN)).rejects.toMatchObject({ code: 'bad-input' });

    const { c, close } = client(caches);
    try {
      const m = await c.call('evolve', params);
      expect(m).toMatchObject({ base, adapterId: 'a1', report: { exact: true } });
      // The new model is the evolved model's weights + the adapter: here the reference's adapted logits.
      await expectAdaptedLogits(caches, m.model);
      expect((await listEvolvedModels(caches)).map((x) => x.webllmId).sort()).toEqual([parentId, m.webllmId].sort());
    } finally {
      close();
    }
  });
});

describe('the tfjs engine on web-llm\'s cached files (one download serves both engines)', () => {
  it('loads a cached web-llm model (webllm-cache source) and generates what the HF folder generates', async () => {
    const caches = new MemoryCacheStorage();
    await registerEvolvedModel(caches, base, 'smol-cached', await mlcFiles('tiny-llama', 'q0f32'), { origin: ORIGIN, name: 'x' });
    const model = evolvedModelUrl(ORIGIN, 'smol-cached');
    const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 8, temperature: 0 };
    const cached = new TfjsLocalEngine({ host: { ...nodeTfjsHostDeps(), webllmCaches: () => caches }, backend: 'cpu', source: { kind: 'webllm-cache', model } });
    const hf = new TfjsLocalEngine({ host: nodeTfjsHostDeps(), backend: 'cpu', source: { kind: 'dir', path: modelDir('tiny-llama') } });
    try {
      await cached.load('smol-cached');
      await hf.load('tiny-llama');
      expect(cached.model?.config).toEqual(hf.model?.config);
      const a = await cached.chat(request);
      const b = await hf.chat(request);
      expect(a.usage.completionTokens).toBeGreaterThan(0);
      expect(a.text).toBe(b.text);
    } finally {
      await cached.unload();
      await hf.unload();
    }
    const none = new TfjsLocalEngine({ host: nodeTfjsHostDeps(), backend: 'cpu', source: { kind: 'webllm-cache', model } });
    await expect(none.load('smol-cached')).rejects.toMatchObject({ code: 'unsupported' });
  });
});
