/**
 * The actor the SELF and SRT tabs train (src/ui/engines/webllm-actor.ts), up to where it would start the
 * tfjs worker: a tfjs engine is used as it is, an engine that can neither train nor be evolved is refused,
 * and a web-llm actor whose model is not in web-llm's cache is refused before any work, saying to download
 * it first. (The evolving actor itself runs in webllm-self.test.ts and webllm.test.ts.) Then an evolved model
 * picked directly as the actor, with WEB-LLM'S WEBGPU COMPUTE STOOD IN by our tfjs runtime on the same MLC
 * files (src/cli/webllm-node.ts): which weights it trains on and merges into, and what its next model is called.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CHAT_ONLY, type Declaring, type EvolvableEngine } from '../../src/core/engine/capabilities.ts';
import { evolvingNote, trainingActor, type ActorParts } from '../../src/ui/engines/webllm-actor.ts';
import { cacheAsWebLlm, MemoryCacheStorage, WebLlmComputeStandIn } from '../../src/cli/webllm-node.ts';
import type { LoraTrainingEngine } from '../../src/core/engine/capabilities.ts';
import { TfjsLocalEngine } from '../../src/core/engine/tfjs/local.ts';
import { nodeTfjsHostDeps } from '../../src/core/engine/tfjs/node-local.ts';
import { evolveIntoCache } from '../../src/core/engine/webllm/evolve.ts';
import { evolvedBaseOf, listEvolvedModels, type EvolvedModel } from '../../src/core/engine/webllm/evolved.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../../src/core/toy/self-train.ts';
import { parseEngineChoice } from '../../src/ui/engines/engine-setup.ts';
import { mlcFiles } from './mlc-helpers.ts';
import { FakeTfjsEngine, toyModel } from './ui-self-fakes.ts';

const g = globalThis as { caches?: unknown };
const saved = g.caches;
afterEach(() => {
  g.caches = saved;
});

function webllm(modelId: string | null): EvolvableEngine {
  return {
    kind: 'webllm',
    capabilities: { ...CHAT_ONLY, evolve: true } as Declaring<'evolve'>,
    modelId,
    load: async () => {},
    chat: async () => ({ text: '', finishReason: 'stop', usage: { promptTokens: 0, completionTokens: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0, totalMs: 0 } }),
    unload: async () => {},
    recordUrls: async (id) => ({ model: `https://huggingface.co/mlc-ai/${id}`, modelLib: `https://example.org/${id}.wasm` }),
  };
}

describe('the actor SELF and SRT train', () => {
  it('is the tfjs engine itself when it trains LoRA', async () => {
    const engine = new FakeTfjsEngine(toyModel);
    await engine.load('toy-arith');
    expect(await trainingActor(engine, 'SELF')).toBe(engine);
    expect(evolvingNote(engine)).toBeNull();
  });

  it('refuses an engine that can neither train nor be evolved, and a web-llm engine with no model', async () => {
    const endpoint = { ...webllm('gpt'), kind: 'openai' as const, capabilities: CHAT_ONLY };
    await expect(trainingActor(endpoint, 'SELF')).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('SELF needs the tfjs engine') });
    await expect(trainingActor(webllm(null), 'SRT')).rejects.toMatchObject({ code: 'bad-input' });
  });

  it('refuses a web-llm model whose files are not in the cache, saying to download it first', async () => {
    g.caches = new MemoryCacheStorage();
    await expect(trainingActor(webllm('SmolLM2-360M-Instruct-q4f32_1-MLC'), 'SELF')).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringContaining('Load it once with the web-llm engine'),
    });
  });

  it('refuses a web-llm id that is no catalog build or evolved model', async () => {
    g.caches = new MemoryCacheStorage();
    await expect(trainingActor(webllm('Some-Other-MLC'), 'SELF')).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('not a web-llm catalog build') });
  });

  it('names the q0 build as the exact path for a q4 actor', () => {
    const q4 = { kind: 'webllm', modelId: 'SmolLM2-360M-Instruct-q4f32_1-MLC' } as Parameters<typeof evolvingNote>[0];
    const note = evolvingNote(q4);
    expect(note).toContain('requantized');
    expect(note).toMatch(/The catalog has SmolLM2-360M-Instruct-q0f(16|32)-MLC/);
  });
});

describe('an evolved model picked as the actor (web-llm compute stood in by tfjs on the same MLC files)', () => {
  const BASE = 'SmolLM2-135M-Instruct-q0f32-MLC';
  const BASE_MODEL = `https://huggingface.co/mlc-ai/${BASE}/resolve/main/`;
  const ORIGIN = 'http://localhost:5173';
  const rows = [{ messages: [{ role: 'user' as const, content: 'What is 120 + 305?' }, { role: 'assistant' as const, content: '425' }] }];
  const messages = [{ role: 'user' as const, content: 'What is 230 + 104?' }];

  function nodeParts(caches: MemoryCacheStorage, trainers: TfjsLocalEngine[]): ActorParts {
    return {
      caches: () => caches,
      trainer: (model) => {
        const t = new TfjsLocalEngine({ host: { ...nodeTfjsHostDeps(), webllmCaches: () => caches }, backend: 'wasm', source: { kind: 'webllm-cache', model } });
        trainers.push(t);
        return t;
      },
      origin: ORIGIN,
      evolve: (p, o) => evolveIntoCache(caches, p, o),
    };
  }

  async function train(actor: LoraTrainingEngine, adapterId: string, caches: MemoryCacheStorage): Promise<EvolvedModel> {
    const out = await actor.train({ adapterId, fromAdapterId: null, data: { method: 'sft', rows }, config: { ...toySelfTrainConfig(TOY_SELF_TRAIN, 1), steps: 3, lr: 0.02 } });
    expect(out.status).toBe('completed');
    const made = (await listEvolvedModels(caches)).find((m) => m.adapterId === adapterId);
    expect(made).toBeDefined();
    return made!;
  }

  it('trains on its weights, merges into its files on the base\'s record, and names the next model after it', async () => {
    const caches = new MemoryCacheStorage();
    await cacheAsWebLlm(caches, BASE_MODEL, await mlcFiles('toy-arith', 'q0f32'));
    const trainers: TfjsLocalEngine[] = [];
    const parts = nodeParts(caches, trainers);
    // A round on the catalog build makes the evolved model the person then picks.
    const catalog = new WebLlmComputeStandIn(caches, { [BASE]: BASE_MODEL });
    await catalog.load(BASE);
    const e0 = await train(await trainingActor(catalog, 'SELF', parts), 'a0', caches);
    expect(e0.name).toBe(`${BASE} + adapter a0`);

    // Picked from "Evolved in this browser": the engine form builds a fresh web-llm engine for it.
    const picked = new WebLlmComputeStandIn(caches, { [BASE]: BASE_MODEL });
    await picked.load(e0.webllmId);
    const actor = await trainingActor(picked, 'SELF', parts);
    expect(actor.modelId).toBe(e0.webllmId);
    expect(trainers[1].modelId).toBe(e0.webllmId);
    expect(evolvingNote(actor)).toBe(`Each round's adapter is merged into ${e0.webllmId} (evolved from ${BASE}) and web-llm switches to the result. q0f32 is unquantized: the adapter is merged exactly (to float32 precision).`);
    // The base model answers without an adapter: the picked model itself, not the catalog build.
    await actor.chat({ messages, adapterId: null, maxTokens: 4 });
    expect(picked.loads).toEqual([e0.webllmId]);

    const e1 = await train(actor, 'a1', caches);
    // On the catalog build's record and library (web-llm runs it like the base), under a catalog-derived id.
    expect(e1.base).toEqual({ webllmId: BASE, quantization: 'q0f32', modelLib: e0.base.modelLib });
    expect(evolvedBaseOf(e1.webllmId)).toBe(BASE);
    expect(parseEngineChoice({ kind: 'webllm', modelId: e1.webllmId })).toEqual({ kind: 'webllm', modelId: e1.webllmId });
    expect(e1.name).toBe(`${e0.name} + adapter a1`);
    expect(e1.report).toMatchObject({ exact: true });

    // Merged into the picked model's weights: e1 answers as the trainer (holding e0's weights) with a1 does…
    const viaE1 = await actor.chat({ messages, adapterId: 'a1', temperature: 0, maxTokens: 24 });
    expect(picked.modelId).toBe(e1.webllmId);
    const lora = await trainers[1].chat({ messages, adapterId: 'a1', temperature: 0, maxTokens: 24 });
    expect(viaE1.text).toBe(lora.text);
    // …and its weights are not the catalog build + a1 (that would drop round one's adapter).
    const a1 = await trainers[1].exportAdapter('a1');
    const onCatalog = await evolveIntoCache(caches, { adapter: { adapterConfig: a1.adapterConfig, safetensors: a1.safetensors }, base: e0.base, baseModel: BASE_MODEL, webllmId: `${BASE}-evolved-check`, name: 'check', origin: ORIGIN });
    const shard = async (m: EvolvedModel) => new Uint8Array(await (await (await caches.open('webllm/model')).match(`${m.model}params_shard_0.bin`))!.arrayBuffer());
    expect(Buffer.from(await shard(e1)).equals(Buffer.from(await shard(onCatalog)))).toBe(false);
    expect(Buffer.from(await shard(e1)).equals(Buffer.from(await shard(e0)))).toBe(false);
  }, 180_000);
});
