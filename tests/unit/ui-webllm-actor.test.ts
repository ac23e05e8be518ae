/**
 * The actor the SELF and SRT tabs train (src/ui/engines/webllm-actor.ts), up to where it would start the
 * tfjs worker: a tfjs engine is used as it is, an engine that can neither train nor be evolved is refused,
 * and a web-llm actor whose model is not in web-llm's cache is refused before any work, saying to download
 * it first. (The evolving actor itself runs in webllm-self.test.ts and webllm.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CHAT_ONLY, type Declaring, type EvolvableEngine } from '../../src/core/engine/capabilities.ts';
import { evolvingNote, trainingActor } from '../../src/ui/engines/webllm-actor.ts';
import { MemoryCacheStorage } from '../../src/cli/webllm-node.ts';
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
