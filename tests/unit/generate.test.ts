/** Generation: greedy tokens equal reference.json with and without the KV cache, batching, stopping, abort, memory. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { generate, generateBatch, generateChat } from '../../src/core/model/generate.ts';
import { loadModel, type LanguageModel } from '../../src/core/model/load.ts';
import { FIXTURE_MODELS, type FixtureName } from '../fixtures/paths.ts';
import { adapterDir, modelDir, reference } from '../fixtures/reference.ts';
import { loraLinears, withLoraLinears } from '../../src/core/lora/linear.ts';

const models = new Map<FixtureName, { model: LanguageModel; lora: LoraWeights }>();

async function loadAll(): Promise<void> {
  for (const name of FIXTURE_MODELS) {
    const model = await loadModel(await nodeDirSource(modelDir(name)));
    models.set(name, { model, lora: await loadPeftAdapter(await nodeDirSource(adapterDir(name)), model.config) });
  }
}

function release(): void {
  for (const { model, lora } of models.values()) {
    disposeLora(lora);
    model.dispose();
  }
  models.clear();
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`greedy decoding on tfjs-${backend} equals reference.json`, () => {
    beforeAll(async () => {
      await useNodeBackend(backend);
      await loadAll();
    });
    afterAll(release);

    for (const name of FIXTURE_MODELS) {
      it(`${name}: base and adapted, with the KV cache (several block sizes, chunked prefill) and without`, async () => {
        const { model, lora } = models.get(name)!;
        const ref = reference(name);
        // No eos stop: the reference decodes exactly 8 tokens.
        const common = { maxTokens: 8, stopTokenIds: [] as number[] };
        for (const run of [{ useCache: true, cacheBlockSize: 64 }, { useCache: true, cacheBlockSize: 3, prefillChunk: 4 }, { useCache: true, cacheBlockSize: 1, prefillChunk: 1 }, { useCache: false }]) {
          const label = JSON.stringify(run);
          expect((await generate(model, ref.greedy_prompt, { ...common, ...run })).tokens, label).toEqual(ref.greedy_base);
          expect((await generate(model, ref.greedy_prompt, { ...common, ...run, linears: loraLinears(lora) })).tokens, label).toEqual(ref.greedy_adapted);
        }
      });
    }
  });
}

describe('generation behaviour (wasm)', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
    await loadAll();
  });
  afterAll(release);

  it('serves none / adapter / none from one loaded model, the adapter chosen per call', async () => {
    const { model, lora } = models.get('tiny-llama')!;
    const ref = reference('tiny-llama');
    const o = { maxTokens: 8, stopTokenIds: [] as number[] };
    const tensors = tf.memory().numTensors;
    expect((await generate(model, ref.greedy_prompt, o)).tokens).toEqual(ref.greedy_base);
    expect((await generate(model, ref.greedy_prompt, { ...o, linears: loraLinears(lora) })).tokens).toEqual(ref.greedy_adapted);
    expect((await generate(model, ref.greedy_prompt, o)).tokens).toEqual(ref.greedy_base);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('batched rows of different lengths each equal their single-prompt result', async () => {
    const { model, lora } = models.get('tiny-qwen2')!;
    const prompts = [[5, 6, 7], reference('tiny-qwen2').greedy_prompt, [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], [42], [200, 100]];
    const maxTokens = [6, 9, 4, 12, 1];
    for (const o of [{ lora: null }, { lora }]) {
      const rows = prompts.map((ids, i) => ({ ids, maxTokens: maxTokens[i] }));
      const done: number[] = [];
      const batch = await generateBatch(model, rows, { ...o, stopTokenIds: [], batchSize: 3, onRowDone: (i) => done.push(i) });
      expect([...done].sort()).toEqual([0, 1, 2, 3, 4]);
      const single = [];
      for (const r of rows) single.push((await generate(model, r.ids, { ...o, maxTokens: r.maxTokens, stopTokenIds: [] })).tokens);
      expect(batch.map((b) => b.tokens)).toEqual(single);
      expect(batch.map((b) => b.tokens.length)).toEqual(maxTokens);
      // Without the cache the batch computes the same.
      const uncached = await generateBatch(model, rows, { ...o, stopTokenIds: [], useCache: false, batchSize: 5 });
      expect(uncached.map((b) => b.tokens)).toEqual(single);
    }
  });

  it('each batch row stops on its own eos and keeps its own sampling settings', async () => {
    const { model } = models.get('tiny-llama')!;
    const ref = reference('tiny-llama');
    const eos = ref.greedy_base[3];
    const [a, b, c] = await generateBatch(
      model,
      [
        { ids: ref.greedy_prompt, maxTokens: 8 },
        { ids: [7, 8, 9], maxTokens: 5, temperature: 0.9, seed: 5 },
        { ids: [7, 8, 9], maxTokens: 5, temperature: 0.9, seed: 5 },
      ],
      { stopTokenIds: [eos] },
    );
    expect(a.tokens).toEqual(ref.greedy_base.slice(0, 3));
    expect(a.finishReason).toBe('stop');
    expect(b.tokens).toEqual(c.tokens);
    const alone = await generate(model, [7, 8, 9], { maxTokens: 5, temperature: 0.9, seed: 5, stopTokenIds: [eos] });
    expect(b.tokens).toEqual(alone.tokens);
  });

  it('sampling is reproducible with a seed', async () => {
    const { model } = models.get('tiny-llama')!;
    const o = { maxTokens: 12, temperature: 1.2, topK: 40, topP: 0.95, repetitionPenalty: 1.1, stopTokenIds: [] as number[] };
    const a = await generate(model, [5, 6, 7], { ...o, seed: 1 });
    expect((await generate(model, [5, 6, 7], { ...o, seed: 1 })).tokens).toEqual(a.tokens);
    expect((await generate(model, [5, 6, 7], { ...o, seed: 2 })).tokens).not.toEqual(a.tokens);
  });

  it('streams text whose pieces add up to the result; stops before a stop string; reports usage', async () => {
    const { model } = models.get('tiny-llama')!;
    const pieces: string[] = [];
    const full = await generate(model, [40, 41, 42], { maxTokens: 30, stopTokenIds: [], onToken: (d) => pieces.push(d) });
    expect(full.finishReason).toBe('length');
    expect(pieces.join('')).toBe(full.text);
    expect(full.text.length).toBeGreaterThan(3);
    expect(full.usage).toMatchObject({ promptTokens: 3, completionTokens: 30 });
    expect(full.usage.decodeTokensPerSec).toBeGreaterThan(0);
    // A stop string taken from the middle of that text.
    const stop = full.text.slice(3, 5);
    const cut = full.text.indexOf(stop);
    const stopped: string[] = [];
    const r = await generate(model, [40, 41, 42], { maxTokens: 30, stopTokenIds: [], stop: [stop], onToken: (d) => stopped.push(d) });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe(full.text.slice(0, cut));
    expect(stopped.join('')).toBe(r.text);
  });

  it('applies the chat template for chat messages and stops at eos by default', async () => {
    const { model } = models.get('tiny-llama')!;
    const r = await generateChat(model, [{ role: 'user', content: 'hi' }], { maxTokens: 5 });
    expect(r.promptTokens).toBe(model.tokenizer.encode(model.tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).length);
    expect(r.tokens.every((t) => !model.tokenizer.eosTokenIds.includes(t))).toBe(true);
  });

  it('stops at once on abort, keeping what was generated', async () => {
    const { model } = models.get('tiny-llama')!;
    const ctl = new AbortController();
    const pieces: string[] = [];
    const onToken = (d: string): void => {
      pieces.push(d);
      if (pieces.length === 3) ctl.abort();
    };
    const r = await generate(model, [5, 6], { maxTokens: 50, stopTokenIds: [], signal: ctl.signal, onToken });
    expect(r.finishReason).toBe('abort');
    expect(r.tokens.length).toBeGreaterThanOrEqual(3);
    expect(r.tokens.length).toBeLessThan(50);
    expect(pieces.slice(0, 3).join('')).toBe(r.text.slice(0, pieces.slice(0, 3).join('').length));
    const early = await generate(model, [5, 6], { maxTokens: 50, signal: AbortSignal.abort() });
    expect(early).toMatchObject({ finishReason: 'abort', tokens: [] });
  });

  it('a prompt longer than the context is a typed error, or truncated on the left when asked', async () => {
    const { model } = models.get('tiny-llama')!;
    const small = { ...model, contextLength: 8 };
    const long = Array.from({ length: 20 }, (_, i) => 10 + i);
    const e = await generate(small, long, { maxTokens: 3 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('context-overflow');
    expect((e as AppError).message).toMatch(/20 tokens, but this model reads at most 8/);
    // The context bounds the reply too.
    const nearFull = await generate(small, long.slice(0, 6), { maxTokens: 10, stopTokenIds: [] });
    expect(nearFull).toMatchObject({ finishReason: 'length' });
    expect(nearFull.tokens).toHaveLength(2);
    const truncated = await generate(small, long, { maxTokens: 3, stopTokenIds: [], overflow: 'truncate-left' });
    expect(truncated.promptTokens).toBe(5);
    expect(truncated.tokens).toEqual((await generate(small, long.slice(-5), { maxTokens: 3, stopTokenIds: [] })).tokens);
  });

  it('refuses token ids outside the vocabulary and an empty prompt', async () => {
    const { model } = models.get('tiny-llama')!;
    await expect(generate(model, [1, 300])).rejects.toThrow(/Token id 300 is outside this model's vocabulary \(0–299\)/);
    await expect(generate(model, [])).rejects.toThrow(/prompt is empty/);
  });

  it('leaks no tensors over 50 generations (cached, uncached, adapted, batched)', async () => {
    const { model, lora } = models.get('tiny-qwen2')!;
    await generate(model, [1, 2, 3], { maxTokens: 2 }); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      const ids = [3 + (i % 7), 4, 5 + (i % 3)];
      if (i % 10 === 9) await withLoraLinears(lora, (linears) => generateBatch(model, [{ ids, maxTokens: 4 }, { ids: [7], maxTokens: 2 }], { linears, stopTokenIds: [] }));
      else await generate(model, ids, { maxTokens: 6, stopTokenIds: [], useCache: i % 5 !== 0, linears: i % 2 ? loraLinears(lora) : null, cacheBlockSize: 4 });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
