/**
 * Our WebAssembly kernels (kernels/decode.c through src/core/kernels) against the references: the fixtures'
 * float64 logits, and the tfjs decoder on every config form (llama, qwen2 biases, qwen3 q/k norms with
 * head_dim ≠ hidden / heads, Llama 3 RoPE with q/k/v/o biases). On tfjs-wasm with every core (the default: here
 * the threaded build and the kernels' helper threads when there are 2 or more cores); with a PEFT adapter's
 * low-rank terms. Also the 8-bit and packed F32 formats: their measured error, and what a model in them refuses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { nodeKernelFiles } from '../../src/core/backend/node-wasm.ts';
import { runMerge } from '../../src/core/engine/tfjs/merge-run.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { checkWeightFormat, loadInFormat } from '../../src/core/kernels/load-format.ts';
import { activeKernels, setKernelsEnabled } from '../../src/core/kernels/module.ts';
import { withLoraLinears } from '../../src/core/lora/linear.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { openDecoder, tfjsDecoder, type CachedDecoder } from '../../src/core/model/decoder.ts';
import { generateBatch } from '../../src/core/model/generate.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel, type LanguageModel } from '../../src/core/model/load.ts';
import { adapterDir, modelDir, reference } from '../fixtures/reference.ts';
import { LLAMA3_TINY, memorySource, QWEN3_TINY, randomCheckpoint } from '../fixtures/tiny-models.ts';

let threads = 1;
beforeAll(async () => {
  const backend = await useNodeBackend('wasm');
  threads = backend.threads ?? 1;
});
afterAll(() => setKernelsEnabled(true));

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Logits of every position of `ids` stepped through a decoder: a prefill of `first` tokens, then one at a time. */
async function stepped(d: CachedDecoder, ids: number[], first: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  out[first - 1] = (await d.step([ids.slice(0, first)])).row(0).slice();
  for (let t = first; t < ids.length; t++) out[t] = (await d.step([[ids[t]]])).row(0).slice();
  return out;
}

async function forwardRows(model: LanguageModel, ids: number[]): Promise<number[][]> {
  const input = tf.tensor2d([ids], [1, ids.length], 'int32');
  const logits = forward(model, input);
  const rows = ((await logits.array()) as number[][][])[0];
  tf.dispose([input, logits]);
  return rows;
}

/** A fixture model under a source id of its own: a converted model must not be shared with F32 holders. */
async function ownCopy(name: 'tiny-llama', tag: string): Promise<LanguageModel> {
  const files = new Map<string, Uint8Array>();
  for (const n of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    const path = join(modelDir(name), n);
    if (existsSync(path)) files.set(n, new Uint8Array(readFileSync(path)));
  }
  return loadModel(memorySource(`${name}-${tag}`, files));
}

describe('the wasm kernels', () => {
  it('are built and attached to tfjs-wasm, with helper threads where there are cores for them', () => {
    expect(nodeKernelFiles(), 'kernels/dist: run npm run build:kernels').toBeTypeOf('object');
    const k = activeKernels();
    expect(k).not.toBeNull();
    expect(k!.threads).toBe(threads);
  });

  for (const name of ['tiny-llama', 'tiny-qwen2'] as const) {
    it(`${name}: logits within 1e-4 of the fixture's float64 reference, prefill and decode`, async () => {
      const ref = reference(name);
      const model = await loadModel(await nodeDirSource(modelDir(name)));
      try {
        const ids = ref.input_ids[0];
        const d = openDecoder(model, 1);
        expect(d.kind).toMatch(/^wasm kernels/);
        const got = await stepped(d, ids, 3);
        d.dispose();
        for (let t = 2; t < ids.length; t++) expect(maxDiff(got[t], ref.logits_base[0][t]), `position ${t}`).toBeLessThan(1e-4);
      } finally {
        model.dispose();
      }
    });
  }

  const forms: Array<[string, Record<string, unknown>]> = [
    ['qwen3 (q/k norms, head_dim 16 ≠ 48 / 4)', QWEN3_TINY],
    ['llama with Llama 3 RoPE and q/k/v/o biases, 4 query heads on 1 kv head', LLAMA3_TINY],
  ];
  for (const [label, config] of forms) {
    it(`${label}: the same logits as the tfjs decoder within 1e-4, in chunks and one token at a time`, async () => {
      const { files } = randomCheckpoint(config, label.length);
      const model = await loadModel(memorySource(label, files));
      try {
        const ids = Array.from({ length: 20 }, (_, i) => (i * 31 + 7) % model.config.vocabSize);
        const want = await forwardRows(model, ids);
        const d = openDecoder(model, 1);
        expect(d.kind).toMatch(/^wasm kernels/);
        const got = await stepped(d, ids, 9);
        d.dispose();
        const t = tfjsDecoder(model, 1);
        const tfjs = await stepped(t, ids, 9);
        t.dispose();
        for (let p = 8; p < ids.length; p++) {
          expect(maxDiff(got[p], want[p]), `kernels, position ${p}`).toBeLessThan(1e-4);
          expect(maxDiff(tfjs[p], want[p]), `tfjs, position ${p}`).toBeLessThan(1e-4);
        }
      } finally {
        model.dispose();
      }
    });
  }

  it('refuse a weight tensor disposed while the model is in use, with a clear error', async () => {
    const { files } = randomCheckpoint(LLAMA3_TINY, 11);
    const model = await loadModel(memorySource('weights-disposed', files));
    try {
      const d = openDecoder(model, 1);
      await d.step([[3, 1, 4]]);
      model.weights.layers[0].up.dispose();
      await expect(d.step([[1]])).rejects.toThrow(/weight tensor was disposed/);
      d.dispose();
    } finally {
      model.dispose();
    }
  });

  it('tiny-llama with its PEFT adapter: the fixture\'s adapted logits within 1e-4 and its greedy tokens, on the kernels; batched rows as on tfjs ops', async () => {
    const ref = reference('tiny-llama');
    const model = await loadModel(await nodeDirSource(modelDir('tiny-llama')));
    const lora = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-llama')), model.config);
    try {
      await withLoraLinears(lora, async (linears) => {
        expect(linears?.lowRank).toBeTypeOf('function');
        const ids = ref.input_ids[0];
        const d = openDecoder(model, 1, { linears });
        expect(d.kind).toMatch(/^wasm kernels/);
        const got = await stepped(d, ids, 3);
        d.dispose();
        for (let t = 2; t < ids.length; t++) expect(maxDiff(got[t], ref.logits_adapted[0][t]), `position ${t}`).toBeLessThan(1e-4);
        const greedy = await generateBatch(model, [{ ids: ref.greedy_prompt, maxTokens: ref.greedy_adapted.length }], { linears, stopTokenIds: [] });
        expect(greedy[0].tokens).toEqual(ref.greedy_adapted);
        const rows = [[5, 9, 200, 31, 7, 8], [12], [40, 41, 42], [1, 2, 3, 4, 5]].map((r) => ({ ids: r, maxTokens: 5 }));
        const onKernels = await generateBatch(model, rows, { linears, stopTokenIds: [] });
        setKernelsEnabled(false);
        const onTfjs = await generateBatch(model, rows, { linears, stopTokenIds: [] });
        setKernelsEnabled(true);
        expect(onKernels.map((r) => r.tokens)).toEqual(onTfjs.map((r) => r.tokens));
      });
    } finally {
      setKernelsEnabled(true);
      disposeLora(lora);
      model.dispose();
    }
  });

  it('batched, left-padded rows generate what each generates alone, and what the tfjs decoder generates', async () => {
    const model = await loadModel(await nodeDirSource(modelDir('tiny-llama')));
    try {
      const rows = [[5, 9, 200, 31, 7, 8], [12], [40, 41, 42]].map((ids) => ({ ids, maxTokens: 6 }));
      const batched = await generateBatch(model, rows, { stopTokenIds: [] });
      for (const [i, r] of rows.entries()) expect((await generateBatch(model, [r], { stopTokenIds: [] }))[0].tokens, `row ${i} alone`).toEqual(batched[i].tokens);
      setKernelsEnabled(false);
      const onTfjs = await generateBatch(model, rows, { stopTokenIds: [] });
      setKernelsEnabled(true);
      expect(onTfjs.map((r) => r.tokens)).toEqual(batched.map((r) => r.tokens));
    } finally {
      model.dispose();
    }
  });
});

describe('8-bit weights', () => {
  it('measure their error against F32 at load, free the F32 matrices, and keep the greedy tokens', async () => {
    const ref = reference('tiny-llama');
    const model = await ownCopy('tiny-llama', 'int8');
    try {
      const before = tf.memory().numBytes;
      const error = loadInFormat(model, 'int8');
      const freed = before - tf.memory().numBytes;
      // Every matrix of tiny-llama has inputs that are a multiple of 32: all of them left tfjs.
      expect(freed).toBeGreaterThan(0);
      expect(model.weights.owned?.bytes).toBeLessThan(freed / 3);
      expect(error.positions).toBe(9);
      expect(error.maxLogProb).toBeGreaterThan(0);
      // Q8_0-style rounding of weights and activations: a few percent of the logits' scale (measured 1–3 %).
      expect(error.maxLogit).toBeLessThan(0.06 * error.logitScale);
      const d = openDecoder(model, 1);
      const logits = (await d.step([ref.input_ids[0]])).row(0);
      d.dispose();
      expect(maxDiff(logits, ref.logits_base[0][ref.input_ids[0].length - 1])).toBeLessThan(0.06 * error.logitScale);
      const greedy = await generateBatch(model, [{ ids: ref.greedy_prompt, maxTokens: ref.greedy_base.length }], { stopTokenIds: [] });
      expect(greedy[0].tokens).toEqual(ref.greedy_base);
      process.stderr.write(`tiny-llama 8-bit: max |Δ logit| ${error.maxLogit.toPrecision(2)} of |logit| ≤ ${error.logitScale.toFixed(1)}, max |Δ log p| ${error.maxLogProb.toPrecision(2)}, greedy ${greedy[0].tokens.join(',')} vs F32 ${ref.greedy_base.join(',')}\n`);
    } finally {
      model.dispose();
    }
  });

  it('refuse what needs F32 weights (the tfjs forward pass, a projection wrapper that is not low-rank, export) with a clear error', async () => {
    const { files } = randomCheckpoint(QWEN3_TINY, 3);
    const model = await loadModel(memorySource('qwen3-int8-refusals', files));
    try {
      loadInFormat(model, 'int8');
      const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
      expect(() => forward(model, ids)).toThrow(/8-bit format/);
      ids.dispose();
      await expect(runMerge(model, null, files, { format: 'gguf', dtype: 'F32' })).rejects.toThrow(/8-bit format/);
      const linears = { wrap: (base: (x: tf.Tensor2D) => tf.Tensor2D) => base };
      await expect(generateBatch(model, [{ ids: [1, 2], maxTokens: 2 }], { linears, stopTokenIds: [] })).rejects.toThrow(/8-bit format/);
    } finally {
      model.dispose();
    }
  });
});

describe('packed F32 weights', () => {
  it('tiny-llama: the fixture\'s float64 logits within 1e-4 from the panels, the same memory, the same greedy tokens', async () => {
    const ref = reference('tiny-llama');
    const model = await ownCopy('tiny-llama', 'packed');
    try {
      const before = tf.memory().numBytes;
      const error = loadInFormat(model, 'f32-packed');
      const freed = before - tf.memory().numBytes;
      expect(freed).toBeGreaterThan(0);
      expect(model.weights.owned).toMatchObject({ format: 'f32-packed', bytes: freed });
      // The same values; only the order of the sums differs from the F32 kernels.
      expect(error).toMatchObject({ format: 'f32-packed', positions: 9, tokensChanged: 0 });
      expect(error.maxLogit).toBeLessThan(1e-4);
      const ids = ref.input_ids[0];
      const d = openDecoder(model, 1);
      expect(d.kind).toMatch(/^wasm kernels/);
      const got = await stepped(d, ids, 3);
      d.dispose();
      for (let t = 2; t < ids.length; t++) expect(maxDiff(got[t], ref.logits_base[0][t]), `position ${t}`).toBeLessThan(1e-4);
      const greedy = await generateBatch(model, [{ ids: ref.greedy_prompt, maxTokens: ref.greedy_base.length }], { stopTokenIds: [] });
      expect(greedy[0].tokens).toEqual(ref.greedy_base);
    } finally {
      model.dispose();
    }
  });

  for (const [label, config] of [['qwen3', QWEN3_TINY], ['llama 3 with biases', LLAMA3_TINY]] as const) {
    it(`${label}: the F32 logits within 1e-4 in chunks and one token at a time, and batched left-padded rows generate the same tokens`, async () => {
      const { files } = randomCheckpoint(config, label.length + 40);
      const model = await loadModel(memorySource(`${label}-packed`, files));
      try {
        const ids = Array.from({ length: 20 }, (_, i) => (i * 31 + 7) % model.config.vocabSize);
        const want = await forwardRows(model, ids);
        const rows = [[5, 9, 20, 31, 7, 8], [12], [40, 41, 42], [3, 4, 5, 6, 7]].map((r) => ({ ids: r, maxTokens: 5 }));
        const f32 = await generateBatch(model, rows, { stopTokenIds: [] });
        loadInFormat(model, 'f32-packed');
        const d = openDecoder(model, 1);
        const got = await stepped(d, ids, 9);
        d.dispose();
        for (let p = 8; p < ids.length; p++) expect(maxDiff(got[p], want[p]), `position ${p}`).toBeLessThan(1e-4);
        const packed = await generateBatch(model, rows, { stopTokenIds: [] });
        expect(packed.map((r) => r.tokens)).toEqual(f32.map((r) => r.tokens));
      } finally {
        model.dispose();
      }
    });
  }

  it('refuse what needs the tfjs tensors (the tfjs forward pass, training\'s adapters, export), and an unknown format', async () => {
    const { files } = randomCheckpoint(QWEN3_TINY, 5);
    const model = await loadModel(memorySource('qwen3-packed-refusals', files));
    try {
      loadInFormat(model, 'f32-packed');
      const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
      expect(() => forward(model, ids)).toThrow(/packed F32 format/);
      ids.dispose();
      await expect(runMerge(model, null, files, { format: 'gguf', dtype: 'F32' })).rejects.toThrow(/packed F32 format/);
      expect(() => loadInFormat(model, 'int8')).toThrow(/already in the f32-packed format/);
    } finally {
      model.dispose();
    }
    expect(checkWeightFormat('f32-packed')).toBe('f32-packed');
    expect(() => checkWeightFormat('f16')).toThrow(/one of f32, f32-packed, int8/);
  });
});
