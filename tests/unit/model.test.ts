/**
 * The decoder's numbers: logits and gradients against the shared float64 fixtures (cpu and wasm backends), and
 * against an independent float64 implementation for qwen3 / llama3-RoPE / attention-bias checkpoints.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import { forward, forwardHidden, lmHead } from '../../src/core/model/llama.ts';
import { attentionTuning } from '../../src/core/model/attention.ts';
import { loadModel, type LanguageModel } from '../../src/core/model/load.ts';
import { ropeInverseFrequencies } from '../../src/core/model/rope.ts';
import { allWeightTensors, hfTensorSpecs, hfWeightEntries } from '../../src/core/model/weights.ts';
import { naiveLogits } from '../fixtures/naive-llama.ts';
import { FIXTURE_MODELS, type FixtureName } from '../fixtures/paths.ts';
import { adapterDir, maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { LLAMA3_TINY, QWEN3_TINY, memorySource, randomCheckpoint } from '../fixtures/tiny-models.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

const TOL = 1e-3;

function ids2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}

async function logitsOf(model: LanguageModel, rows: number[][], lora: LoraWeights | null = null): Promise<number[][][]> {
  const input = ids2d(rows);
  const out = forward(model, input, { linears: loraLinears(lora) });
  const values = (await out.array()) as number[][][];
  tf.dispose([input, out]);
  return values;
}

/** HF causal-LM loss: position t predicts label t+1; -100 is skipped; mean over the batch's counted positions. */
function causalLoss(logits: tf.Tensor3D, labels: number[][]): tf.Scalar {
  const [B, T, V] = logits.shape;
  const target = new Int32Array(B * T);
  const weight = new Float32Array(B * T);
  let count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const y = labels[b][t + 1];
      if (y === -100) continue;
      target[b * T + t] = y;
      weight[b * T + t] = 1;
      count++;
    }
  }
  const logp = tf.logSoftmax(tf.reshape(logits, [B * T, V]));
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(target, 'int32'), V)), -1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(weight)))), count) as tf.Scalar;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fixtures on tfjs-${backend}`, () => {
    const models = new Map<FixtureName, { model: LanguageModel; lora: LoraWeights }>();
    beforeAll(async () => {
      await useNodeBackend(backend);
      for (const name of FIXTURE_MODELS) {
        const model = await loadModel(await nodeDirSource(modelDir(name)));
        const lora = await loadPeftAdapter(await nodeDirSource(adapterDir(name)), model.config);
        models.set(name, { model, lora });
      }
    });
    afterAll(() => {
      for (const { model, lora } of models.values()) {
        disposeLora(lora);
        model.dispose();
      }
    });

    for (const name of FIXTURE_MODELS) {
      it(`${name}: base and adapted logits match reference.json within ${TOL}`, async () => {
        const { model, lora } = models.get(name)!;
        const ref = reference(name);
        expect(maxAbsDiff(await logitsOf(model, ref.input_ids), ref.logits_base)).toBeLessThan(TOL);
        expect(maxAbsDiff(await logitsOf(model, ref.input_ids, lora), ref.logits_adapted)).toBeLessThan(TOL);
        // The adapter is a per-call option: the base model is unchanged afterwards.
        expect(maxAbsDiff(await logitsOf(model, ref.input_ids), ref.logits_base)).toBeLessThan(TOL);
      });

      for (const layout of ['batched', 'split'] as const) {
        it(`${name}: loss and LoRA gradients match reference.json (${layout} attention layout)`, () => {
          const { model, lora } = models.get(name)!;
          const saved = attentionTuning.splitMinKeys;
          attentionTuning.splitMinKeys = layout === 'split' ? 1 : Infinity;
          onTestFinished(() => void (attentionTuning.splitMinKeys = saved));
          const ref = reference(name);
          const paths = [...lora.modules.keys()];
          const tensors = paths.flatMap((p) => [lora.modules.get(p)!.a, lora.modules.get(p)!.b]);
          const input = ids2d(ref.input_ids);
          const f = (...ts: tf.Tensor[]): tf.Scalar => {
            const modules = new Map(paths.map((p, i) => [p, { a: ts[2 * i] as tf.Tensor2D, b: ts[2 * i + 1] as tf.Tensor2D }]));
            return causalLoss(forward(model, input, { linears: loraLinears({ ...lora, modules }) }), ref.labels);
          };
          const { value, grads } = tf.valueAndGrads(f)(tensors);
          expect(Math.abs(value.dataSync()[0] - ref.loss_adapted)).toBeLessThan(1e-4);
          paths.forEach((p, i) => {
            for (const [which, g] of [['A', grads[2 * i]], ['B', grads[2 * i + 1]]] as const) {
              const want = ref.grads[`base_model.model.${p}.lora_${which}.weight`];
              const scale = Math.max(...want.flat().map(Math.abs));
              expect(maxAbsDiff(g.arraySync(), want) / scale, `${p} lora_${which}`).toBeLessThan(1e-4);
            }
          });
          tf.dispose([value, ...grads, input]);
        });
      }
    }

    it('right padding does not change real positions; left padding with a mask equals the unpadded row', async () => {
      const { model } = models.get('tiny-llama')!;
      const row = [5, 17, 99, 3, 250];
      const alone = (await logitsOf(model, [row]))[0];
      const right = (await logitsOf(model, [[...row, 0, 0, 0]]))[0].slice(0, row.length);
      expect(maxAbsDiff(right, alone)).toBeLessThan(1e-5);
      const input = ids2d([[0, 0, 0, ...row]]);
      const out = forward(model, input, { attentionMask: [[0, 0, 0, 1, 1, 1, 1, 1]] });
      const left = ((await out.array()) as number[][][])[0].slice(3);
      tf.dispose([input, out]);
      expect(maxAbsDiff(left, alone)).toBeLessThan(1e-4);
    });

    it('forwardHidden + lmHead equals forward (for a chunked loss)', async () => {
      const { model } = models.get('tiny-qwen2')!;
      const ref = reference('tiny-qwen2');
      const input = ids2d(ref.input_ids);
      const hidden = forwardHidden(model, input);
      const [B, T, H] = hidden.shape;
      expect(H).toBe(model.config.hiddenSize);
      const logits = lmHead(model, tf.reshape(hidden, [B * T, H]) as tf.Tensor2D);
      const values = tf.reshape(logits, [B, T, model.config.vocabSize]).arraySync();
      expect(maxAbsDiff(values, ref.logits_base)).toBeLessThan(TOL);
      tf.dispose([input, hidden, logits]);
    });

    it('is differentiable with respect to every base weight (full-parameter training with tf.Variables)', () => {
      const { model } = models.get('tiny-qwen2')!;
      const weights = { ...model.weights, layers: model.weights.layers.map((l) => ({ ...l })) };
      const specs = hfTensorSpecs(model.config);
      for (const s of specs) s.set(weights, tf.variable(s.get(model.weights)!));
      const variables = allWeightTensors(weights) as tf.Variable[];
      expect(variables).toHaveLength(specs.length);
      const input = ids2d([[5, 6, 7, 8], [9, 10, 11, 12]]);
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(forward({ config: model.config, weights }, input))) as tf.Scalar, variables);
      expect(Object.keys(grads)).toHaveLength(variables.length);
      for (const g of Object.values(grads)) expect(g.dataSync().every(Number.isFinite)).toBe(true);
      // The embedding and the final norm both receive gradient.
      expect(tf.norm(grads[variables[0].name]).dataSync()[0]).toBeGreaterThan(0);
      tf.dispose([value, input, ...Object.values(grads), ...variables]);
    });

    it('LoRA dropout in training is reproducible from its seed and off at inference', () => {
      const { model, lora } = models.get('tiny-llama')!;
      const withDropout: LoraWeights = { ...lora, config: { ...lora.config, dropout: 0.5 } };
      const input = ids2d([reference('tiny-llama').greedy_prompt]);
      const run = (o: Parameters<typeof forward>[2]): Float32Array => tf.tidy(() => forward(model, input, o).dataSync() as Float32Array);
      const a = run({ linears: loraLinears(withDropout, { training: { dropoutSeed: 11 } }) });
      const b = run({ linears: loraLinears(withDropout, { training: { dropoutSeed: 11 } }) });
      const c = run({ linears: loraLinears(withDropout, { training: { dropoutSeed: 12 } }) });
      const inference = run({ linears: loraLinears(withDropout) });
      const plain = run({ linears: loraLinears(lora) });
      expect(maxAbsDiff(Array.from(a), Array.from(b))).toBe(0);
      expect(maxAbsDiff(Array.from(a), Array.from(c))).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(Array.from(inference), Array.from(plain))).toBe(0);
      input.dispose();
    });
  });
}

describe('architectures beyond the fixtures, against an independent float64 implementation', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  for (const [label, config, dtype] of [
    ['qwen3 (q/k norm, head_dim ≠ hidden/heads, tied, rope_parameters)', QWEN3_TINY, 'BF16'],
    ['llama with llama3 RoPE scaling and attention biases', LLAMA3_TINY, 'F16'],
  ] as const) {
    it(label, async () => {
      const { weights, files } = randomCheckpoint(config, label.length, dtype);
      const model = await loadModel(memorySource(label, files));
      try {
        // Positions beyond original_max_position_embeddings exercise the scaled frequencies.
        const ids = Array.from({ length: 80 }, (_, i) => (i * 37 + 11) % 300);
        const want = naiveLogits(config, weights, ids);
        const got = (await logitsOf(model, [ids]))[0];
        expect(maxAbsDiff(got, want)).toBeLessThan(TOL);
      } finally {
        model.dispose();
      }
    });
  }

  it('hfWeightEntries gives back the checkpoint in Hugging Face names and layouts', async () => {
    const { weights, files } = randomCheckpoint(LLAMA3_TINY, 3);
    const model = await loadModel(memorySource('entries', files));
    const entries = hfWeightEntries(model.config, model.weights);
    expect(entries.map((e) => e.name).sort()).toEqual([...weights.keys()].sort());
    for (const { name, tensor } of entries) {
      expect(tensor.shape).toEqual(weights.get(name)!.shape);
      expect(maxAbsDiff(Array.from(tensor.dataSync()), Array.from(weights.get(name)!.data))).toBe(0);
    }
    tf.dispose(entries.map((e) => e.tensor));
    model.dispose();
  });
});

describe('config.json parsing', () => {
  const base = { model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };

  it('reads llama, qwen2 and qwen3 semantics', () => {
    const llama = parseModelConfig({ ...base, num_key_value_heads: 2, tie_word_embeddings: true }, { eos_token_id: [7, 8] });
    expect(llama).toMatchObject({ architecture: 'llama', headDim: 16, numKvHeads: 2, tieWordEmbeddings: true, attentionBias: false, qkNorm: false, ropeTheta: 10000 });
    expect(llama.eosTokenIds).toEqual([7, 8]);
    const qwen2 = parseModelConfig({ ...base, model_type: 'qwen2', rope_theta: 1e6, eos_token_id: 3 });
    expect(qwen2).toMatchObject({ attentionBias: true, attentionOutputBias: false, tieWordEmbeddings: false, ropeTheta: 1e6, eosTokenIds: [3] });
    const qwen3 = parseModelConfig({ ...base, model_type: 'qwen3', head_dim: 32 });
    expect(qwen3).toMatchObject({ qkNorm: true, headDim: 32, attentionBias: false });
    const biased = parseModelConfig({ ...base, attention_bias: true });
    expect(biased).toMatchObject({ attentionBias: true, attentionOutputBias: true });
  });

  it('reads both RoPE forms, and llama3 scaling matches the reference formula', () => {
    const old = parseModelConfig({ ...base, rope_theta: 500000, rope_scaling: LLAMA3_TINY.rope_scaling });
    const fresh = parseModelConfig({ ...base, rope_parameters: { ...LLAMA3_TINY.rope_scaling, rope_theta: 500000 } });
    expect(fresh.ropeScaling).toEqual(old.ropeScaling);
    expect(fresh.ropeTheta).toBe(500000);
    expect(old.ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 });
    const inv = ropeInverseFrequencies(old);
    const plain = ropeInverseFrequencies({ ...old, ropeScaling: { type: 'default' } });
    // High frequencies (short wavelengths) are kept, low ones divided by the factor.
    expect(inv[0]).toBe(plain[0]);
    expect(inv[7]).toBeCloseTo(plain[7] / 8, 12);
    const linear = parseModelConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } });
    expect(ropeInverseFrequencies(linear)[3]).toBeCloseTo(ropeInverseFrequencies({ ...linear, ropeScaling: { type: 'default' } })[3] / 2, 15);
  });

  it('refuses what it would not compute exactly, with "unsupported: …"', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, model_type: 'gpt2' }, /unsupported: model_type "gpt2"/],
      [{ ...base, model_type: 'mistral' }, /unsupported: model_type "mistral"/],
      [{ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /unsupported: rope_type "yarn"/],
      [{ ...base, hidden_act: 'gelu' }, /unsupported: hidden_act "gelu"/],
      [{ ...base, mlp_bias: true }, /unsupported: mlp_bias/],
      [{ ...base, model_type: 'qwen2', use_sliding_window: true }, /unsupported: use_sliding_window/],
    ];
    for (const [raw, message] of cases) {
      const e = catchError(() => parseModelConfig(raw));
      expect(e.code).toBe('unsupported');
      expect(e.message).toMatch(message);
    }
  });

  it('names the broken field of a damaged config', () => {
    for (const [raw, message] of [
      [[], /not a JSON object/],
      [{ ...base, hidden_size: -3 }, /hidden_size is -3/],
      [{ ...base, num_key_value_heads: 3 }, /not a multiple of num_key_value_heads/],
      [{ ...base, vocab_size: undefined }, /vocab_size is undefined/],
      [{ ...base, rope_theta: 'big' }, /rope_theta "big"/],
    ] as const) {
      const e = catchError(() => parseModelConfig(raw));
      expect(e.code).toBe('model-config');
      expect(e.message).toMatch(message);
    }
  });
});

function catchError(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}
