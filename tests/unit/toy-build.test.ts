/**
 * Building the toy model: length-grouped batches, full-parameter gradients on wasm equal cpu's (tfjs-wasm's
 * float one-hot once made them wrong), full-parameter training (learns, reproducible), the
 * `toy:build` command end to end on a tiny plan (files load back as a model), and its flag errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { buildToyModel } from '../../src/cli/toy-builder.ts';
import { AppError } from '../../src/core/errors.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import { encodeChat, generate } from '../../src/core/model/generate.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { hfWeightEntries, disposeWeights } from '../../src/core/model/weights.ts';
import { createTokenizer } from '../../src/core/text/tokenizer.ts';
import type { TokenSequence } from '../../src/core/train/data-types.ts';
import { causalLmLoss } from '../../src/core/train/loss.ts';
import { DEFAULT_TOY_TRAIN_PLAN, initialToyWeights, toyLearningRate, trainToyModel, type ToyTrainPlan } from '../../src/core/toy/base-train.ts';
import { buildToyTokenizerFiles, generateToyData, proposedToyConfigJson, toyPrompts, toyTrainingChats } from '../../src/core/toy/index.ts';
import { evenBuckets, LengthGroupedBatches } from '../../src/core/toy/length-batches.ts';

const TINY_FLAGS = ['--hidden', '16', '--layers', '1', '--intermediate', '32', '--meta', '60', '--token-budget', '512', '--quiet'];
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'toy-build-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function seq(n: number, tag: number): TokenSequence {
  return { inputIds: Int32Array.from({ length: n }, () => tag), labels: Int32Array.from({ length: n }, () => tag) };
}

describe('length-grouped batches', () => {
  const examples = [...Array.from({ length: 37 }, (_, i) => seq(10 + (i % 6), i)), ...Array.from({ length: 11 }, (_, i) => seq(40 + i, 100 + i))];
  const make = (seed: number) => new LengthGroupedBatches(examples, { tokenBudget: 96, buckets: evenBuckets(50, 8), seed, padId: 0 });

  it('visits every example once per epoch in budget-sized batches of one bucket length', () => {
    const b = make(3);
    for (const epoch of [0, 1]) {
      const seen: number[] = [];
      for (let j = 0; j < b.perEpoch; j++) {
        const batch = b.get(epoch * b.perEpoch + j);
        expect(batch.rows * batch.seqLen).toBeLessThanOrEqual(96);
        expect(evenBuckets(50, 8)).toContain(batch.seqLen);
        for (let r = 0; r < batch.rows; r++) seen.push(batch.inputIds[r * batch.seqLen]);
      }
      expect(seen.sort((x, y) => x - y)).toEqual(examples.map((e) => e.inputIds[0]).sort((x, y) => x - y));
    }
    expect(b.describe().reduce((s, g) => s + g.examples, 0)).toBe(examples.length);
  });

  it('is a pure function of seed and index, and epochs differ', () => {
    const a = make(3);
    const same = make(3);
    const other = make(4);
    const ids = (src: LengthGroupedBatches, i: number) => Array.from(src.get(i).inputIds);
    expect(ids(a, 5)).toEqual(ids(same, 5));
    expect(ids(a, 1 + a.perEpoch)).toEqual(ids(same, 1 + a.perEpoch));
    const order = (src: LengthGroupedBatches, e: number) => Array.from({ length: src.perEpoch }, (_, j) => ids(src, e * src.perEpoch + j).join(','));
    expect(order(a, 0)).not.toEqual(order(a, 1));
    expect(order(a, 0)).not.toEqual(order(other, 0));
  });

  it('refuses an example longer than the last bucket', () => {
    expect(() => new LengthGroupedBatches([seq(60, 1)], { tokenBudget: 96, buckets: [16, 32], seed: 0, padId: 0 })).toThrow(AppError);
  });
});

const TINY = { hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, maxPositionEmbeddings: 64 };

/** Loss and gradients of every base weight (by HF name) of a seeded tiny model on the current backend. */
function fullParameterGrads(): { loss: number; grads: Map<string, Float32Array> } {
  const config = parseModelConfig(proposedToyConfigJson(50, TINY));
  const { weights, params } = initialToyWeights(config, 7, 0.2);
  const ids = tf.tensor2d(Int32Array.from({ length: 2 * 24 }, (_, i) => (i * 7 + (i >> 3)) % 50), [2, 24], 'int32'); // [B, T]
  const labels = tf.tensor2d(Int32Array.from({ length: 2 * 24 }, (_, i) => (i % 5 === 0 ? -100 : (i * 7 + (i >> 3)) % 50)), [2, 24], 'int32');
  const { value, grads } = tf.variableGrads(() => causalLmLoss(forward({ config, weights }, ids), labels), [...params.values()]);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of params) out.set(name, Float32Array.from(grads[v.name].dataSync() as Float32Array));
  const loss = value.dataSync()[0];
  tf.dispose([value, ids, labels, ...Object.values(grads), ...params.values()]);
  return { loss, grads: out };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

describe('full-parameter training of the toy model', () => {
  it('gets the same gradients of every base weight on wasm as on cpu', async () => {
    await useNodeBackend('cpu');
    const cpu = fullParameterGrads();
    await useNodeBackend('wasm');
    const wasm = fullParameterGrads();
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4);
    for (const [name, g] of cpu.grads) expect(maxRelDiff(g, wasm.grads.get(name)!), name).toBeLessThan(1e-3);
  });

  it('warms up, decays to the floor, and learns the corpus (loss falls) reproducibly', async () => {
    await useNodeBackend('wasm');
    const plan: ToyTrainPlan = {
      ...DEFAULT_TOY_TRAIN_PLAN,
      shape: { ...DEFAULT_TOY_TRAIN_PLAN.shape, hiddenSize: 16, intermediateSize: 32, numLayers: 1 },
      steps: 24,
      warmupSteps: 4,
      tokenBudget: 512,
      peakLr: 1e-2,
    };
    const lr = toyLearningRate(plan);
    expect(lr(0)).toBe(0);
    expect(lr(4)).toBeCloseTo(1e-2, 10);
    expect(lr(24)).toBeCloseTo(1e-3, 10);
    const files = buildToyTokenizerFiles();
    const tokenizer = createTokenizer({ tokenizerJson: files.tokenizer, tokenizerConfig: files.tokenizerConfig });
    const chats = toyTrainingChats(generateToyData({ seed: 5, metaCount: 40, rounds: 0, evalCount: 0 }).meta);
    const run = async () => {
      const losses: number[] = [];
      const out = await trainToyModel({ tokenizer, chats, plan, seed: 5, onStep: (r) => void losses.push(r.loss) });
      const bytes = hfWeightEntries(out.config, out.weights).map(({ name, tensor }) => {
        const data = Array.from(tensor.dataSync());
        tensor.dispose();
        return [name, data] as const;
      });
      disposeWeights(out.weights);
      return { losses, bytes, out };
    };
    const first = await run();
    expect(first.out.result.status).toBe('completed');
    expect(first.losses).toHaveLength(24);
    const head = first.losses.slice(0, 3).reduce((s, x) => s + x, 0) / 3;
    const tail = first.losses.slice(-3).reduce((s, x) => s + x, 0) / 3;
    expect(tail).toBeLessThan(head - 1);
    expect(first.out.parameters).toBe(first.bytes.reduce((s, [, d]) => s + d.length, 0));
    const before = tf.memory().numTensors;
    const second = await run();
    expect(tf.memory().numTensors).toBe(before);
    expect(second.losses).toEqual(first.losses);
    expect(second.bytes).toEqual(first.bytes);
  });
});

describe('npm run toy:build', () => {
  it('writes a loadable model folder in the Hugging Face layout, the same bytes for the same seed', async () => {
    const a = tempDir();
    const b = tempDir();
    const lines: string[] = [];
    const summary = await buildToyModel(['--steps', '3', '--seed', '2', '--out', a, ...TINY_FLAGS], (l) => lines.push(l));
    await buildToyModel(['--steps', '3', '--seed', '2', '--out', b, ...TINY_FLAGS], () => {});
    expect(summary.steps).toBe(3);
    expect(lines.join('\n')).toMatch(/done: \d+ parameters, 3 steps/);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
    }
    const log = JSON.parse(readFileSync(join(a, 'training_log.json'), 'utf8'));
    expect(log.seed).toBe(2);
    expect(log.result.steps).toBe(3);
    expect(log.plan.shape.hiddenSize).toBe(16);
    expect(log.command).toContain('--seed 2');
    const committed = join(process.cwd(), 'public', 'models', 'toy-arith');
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      expect(readFileSync(join(a, f), 'utf8'), f).toBe(readFileSync(join(committed, f), 'utf8'));
    }

    const model = await loadModel(await nodeDirSource(a));
    try {
      expect(model.config.hiddenSize).toBe(16);
      expect(model.config.tieWordEmbeddings).toBe(true);
      const out = await generate(model, encodeChat(model.tokenizer, toyPrompts.draft('12 + 34')), { maxTokens: 4, temperature: 0 });
      expect(out.tokens.length).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it('--init continues training a built model: it starts from its weights and says so in the log', async () => {
    const a = tempDir();
    const b = tempDir();
    await buildToyModel(['--steps', '2', '--seed', '1', '--out', a, ...TINY_FLAGS], () => {});
    const lines: string[] = [];
    await buildToyModel(['--steps', '2', '--seed', '1', '--lr', '1e-9', '--init', a, '--out', b, ...TINY_FLAGS], (l) => lines.push(l));
    expect(lines[1]).toMatch(/^starting from .*\(([0-9a-f]{12})…, built by: npm run toy:build -- --steps 2/);
    const log = JSON.parse(readFileSync(join(b, 'training_log.json'), 'utf8'));
    expect(log.init.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(log.init.command).toContain('--steps 2 --seed 1');
    // At a learning rate of 1e-9 the continued model is the starting one (to float rounding), not a fresh init.
    const [m1, m2] = [await loadModel(await nodeDirSource(a)), await loadModel(await nodeDirSource(b))];
    try {
      const w1 = m1.weights.embedding.dataSync();
      const w2 = m2.weights.embedding.dataSync();
      let diff = 0;
      for (let i = 0; i < w1.length; i++) diff = Math.max(diff, Math.abs(w1[i] - w2[i]));
      expect(diff).toBeLessThan(1e-5);
    } finally {
      m1.dispose();
      m2.dispose();
    }
    const err = await buildToyModel(['--steps', '1', '--init', a, '--out', tempDir(), ...TINY_FLAGS.map((f) => (f === '16' ? '32' : f))], () => {}).catch((e: unknown) => e);
    expect((err as AppError).message).toMatch(/another shape than this plan's/);
  });

  it('--init after a tokenizer rebuild carries each token\'s embedding over by its text', async () => {
    const a = tempDir();
    const b = tempDir();
    await buildToyModel(['--steps', '2', '--seed', '1', '--out', a, ...TINY_FLAGS], () => {});
    // Give two tokens each other's ids in a's tokenizer, as a rebuilt tokenizer would move them.
    const tokPath = join(a, 'tokenizer.json');
    const tok = JSON.parse(readFileSync(tokPath, 'utf8')) as { model: { vocab: Record<string, number> } };
    const [x, y] = ['ones:Ġ', 'tens:Ġ'];
    const [i, j] = [tok.model.vocab[x], tok.model.vocab[y]];
    expect(i).toBeGreaterThan(2);
    expect(j).toBeGreaterThan(2);
    [tok.model.vocab[x], tok.model.vocab[y]] = [j, i];
    writeFileSync(tokPath, JSON.stringify(tok));
    const lines: string[] = [];
    await buildToyModel(['--steps', '1', '--seed', '1', '--lr', '1e-9', '--init', a, '--out', b, ...TINY_FLAGS], (l) => lines.push(l));
    expect(lines.some((l) => /^the tokenizer changed: (\d+) of \1 tokens carried over/.test(l))).toBe(true);
    const [m1, m2] = [await loadModel(await nodeDirSource(a)), await loadModel(await nodeDirSource(b))];
    try {
      // [H, V]: b's column for "ones" (id i) is a's column j, where a's tokenizer said "ones" was.
      const col = (m: typeof m1, c: number) => Array.from(m.weights.embedding.slice([0, c], [-1, 1]).dataSync());
      const [got, want, other] = [col(m2, i), col(m1, j), col(m1, i)];
      expect(Math.max(...got.map((v, k) => Math.abs(v - want[k])))).toBeLessThan(1e-5);
      expect(Math.max(...got.map((v, k) => Math.abs(v - other[k])))).toBeGreaterThan(1e-3);
    } finally {
      m1.dispose();
      m2.dispose();
    }
  });

  it('refuses bad flags with the toy:build usage', async () => {
    const bad = async (argv: string[], pattern: RegExp) => {
      const err = await buildToyModel(argv, () => {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('bad-input');
      expect((err as AppError).message).toMatch(pattern);
      expect((err as AppError).message).toContain('npm run toy:build');
    };
    await bad(['--sed', '1'], /unknown flag --sed/);
    await bad(['--steps', 'many'], /--steps must be a number/);
    await bad(['--minutes', '-3'], /--minutes must be positive/);
  });
});
