/**
 * The training loop end to end on a tiny differentiable model: frozen embeddings and projections with LoRA on
 * two of them (made by initLora, trained under their PEFT names), dropout on the LoRA path.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { AdamW } from '../../src/core/train/adamw.ts';
import { PreferenceBatches, SftBatches, type TokenBatch } from '../../src/core/train/batches.ts';
import { captureCheckpoint, checkpointFromFiles, checkpointToFiles, type TrainCheckpoint } from '../../src/core/train/checkpoint.ts';
import { TrainControl } from '../../src/core/train/control.ts';
import type { PreferenceExample, TokenSequence } from '../../src/core/train/data-types.ts';
import { loraParamMap } from '../../src/core/train/lora-params.ts';
import { checkpointDue, train, type StepReport, type TrainOptions } from '../../src/core/train/loop.ts';
import { dpoLossFn, sftLossFn, type HiddenModel, type LogitsFn } from '../../src/core/train/objectives.ts';
import { Rng } from '../../src/core/random/rng.ts';
import { makeSchedule } from '../../src/core/train/schedule.ts';
import { readSafetensorsIndependently, smallModelConfig, testFloats } from './train-helpers.ts';

const model = smallModelConfig(); // hidden 32, 4 heads × 8 (q: 32 out), 2 kv heads (v: 16 out), vocab 50
const V = model.vocabSize;
const D = model.hiddenSize;
const LORA = { r: 4, alpha: 8, dropout: 0.1, rslora: false, targetModules: ['q_proj' as const, 'v_proj' as const], layers: [0] };
const Q = 'model.layers.0.self_attn.q_proj';
const VP = 'model.layers.0.self_attn.v_proj';

/** Frozen base weights of the toy model. */
const base = {
  emb: tf.keep(tf.tensor2d(testFloats(V * D, 1), [V, D])), // [V, D]
  wq: tf.keep(tf.tensor2d(testFloats(32 * D, 2, 0.3), [32, D])), // [32, D]
  wv: tf.keep(tf.tensor2d(testFloats(16 * D, 3, 0.3), [16, D])), // [16, D]
  out: tf.keep(tf.tensor2d(testFloats(V * 48, 4, 0.5), [V, 48])), // [V, 48]
};

/** h [N, D] → h·Wᵀ + scaling · (dropout(h)·Aᵀ)·Bᵀ */
function adapted(h: tf.Tensor2D, w: tf.Tensor2D, lora: LoraWeights, module: string, on: boolean, training: boolean, seed?: number): tf.Tensor2D {
  const y = tf.matMul(h, w, false, true) as tf.Tensor2D; // [N, out]
  if (!on) return y;
  const { a, b } = lora.modules.get(module)!;
  const x: tf.Tensor2D = training && lora.config.dropout > 0 ? (tf.dropout(h, lora.config.dropout, undefined, seed) as tf.Tensor2D) : h;
  return tf.add(y, tf.mul(tf.matMul(tf.matMul(x, a, false, true), b, false, true), tf.scalar(lora.scaling))) as tf.Tensor2D;
}

/** Final hidden states of the toy model, [B, T, 48]. */
function toyHidden(lora: LoraWeights): HiddenModel['hidden'] {
  return (ids, o) =>
    tf.tidy(() => {
      const [B, T] = ids.shape;
      const h = tf.gather(base.emb, tf.reshape(ids, [B * T])) as tf.Tensor2D; // [N, D]
      const seedV = o.seed === undefined ? undefined : o.seed + 1;
      const q = adapted(h, base.wq, lora, Q, o.adapter, o.training, o.seed); // [N, 32]
      const v = adapted(h, base.wv, lora, VP, o.adapter, o.training, seedV); // [N, 16]
      return tf.reshape(tf.tanh(tf.concat([q, v], 1)), [B, T, 48]) as tf.Tensor3D;
    });
}

const headT = tf.keep(tf.transpose(base.out)) as tf.Tensor2D; // [48, V]

function toyModel(lora: LoraWeights): LogitsFn {
  const hidden = toyHidden(lora);
  return (ids, o) =>
    tf.tidy(() => {
      const [B, T] = ids.shape;
      const logits = tf.matMul(tf.reshape(hidden(ids, o), [B * T, 48]), base.out, false, true); // [N, V]
      return tf.reshape(logits, [B, T, V]) as tf.Tensor3D;
    });
}

/** Sequences that follow next = (3·tok + 1) mod V, with the first two positions unlabelled. */
function dataset(n: number, seed: number): TokenSequence[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => {
    const len = 6 + rng.nextInt(8);
    const ids = new Int32Array(len);
    ids[0] = rng.nextInt(V);
    for (let t = 1; t < len; t++) ids[t] = (3 * ids[t - 1] + 1) % V;
    const labels = Int32Array.from(ids, (x, t) => (t < 2 ? -100 : x));
    return { inputIds: ids, labels };
  });
}

const DATA = dataset(24, 5);

interface RunOptions extends Partial<Omit<TrainOptions<TokenBatch>, 'params' | 'lossFn' | 'batches' | 'optimizer' | 'schedule'>> {
  loraSeed?: number;
  /** Train through the hidden-states view with the chunked loss. */
  chunkRows?: number;
  loraDropout?: number;
  batchSize?: number;
  lr?: number;
  lossOverride?: TrainOptions<TokenBatch>['lossFn'];
}

async function run(o: RunOptions) {
  const lora = initLora({ ...LORA, dropout: o.loraDropout ?? LORA.dropout }, model, o.loraSeed ?? 0);
  const params = loraParamMap(lora);
  const optimizer = new AdamW({ weightDecay: 0.01 });
  const reports: StepReport[] = [];
  const totalSteps = o.totalSteps ?? 8;
  const result = await train({
    params,
    lossFn: o.lossOverride ?? sftLossFn(o.chunkRows ? { hidden: toyHidden(lora), head: headT, chunkRows: o.chunkRows } : toyModel(lora)),
    batches: new SftBatches(DATA, { batchSize: o.batchSize ?? 4, seed: 3, padId: 0 }),
    optimizer,
    schedule: makeSchedule({ kind: 'linear', baseLr: o.lr ?? 3e-2, warmupSteps: 1, totalSteps }),
    ...o,
    totalSteps,
    onStep: async (r) => {
      reports.push(r);
      await o.onStep?.(r);
    },
  });
  const values = new Map([...params].map(([n, v]) => [n, Float32Array.from(v.dataSync())]));
  const checkpoint = await captureCheckpoint(params, optimizer, result.step, result.microStep, Rng.fromState(result.rngState));
  optimizer.dispose();
  disposeLora(lora);
  return { result, reports, values, checkpoint };
}

function expectIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>) {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [n, x] of a) expect(Buffer.from(b.get(n)!.buffer).equals(Buffer.from(x.buffer)), n).toBe(true);
}

describe('train (generic loop)', () => {
  it('learns: the loss falls, every step is reported, and no tensor leaks from step to step', async () => {
    const before = tf.memory().numTensors;
    const { result, reports, values } = await run({ totalSteps: 30, clip: 1 });
    expect(result).toMatchObject({ status: 'completed', step: 30, microStep: 30 });
    expect(reports.map((r) => r.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const first = reports[0].loss;
    const last = reports.slice(-3).reduce((s, r) => s + r.loss, 0) / 3;
    expect(last).toBeLessThan(first * 0.6);
    expect(reports[0].lr).toBe(0); // warmup: the first update has rate 0, as in transformers
    expect(reports[1].lr).toBeCloseTo(3e-2 * (29 - 1 + 1) / 29, 8);
    for (const r of reports) {
      expect(r.tokens).toBeGreaterThan(0);
      expect(r.tokensPerSec).toBeGreaterThan(0);
      expect(r.gradNorm).toBeGreaterThan(0);
      expect(r.memory.numBytes).toBeGreaterThan(0);
    }
    const counts = reports.slice(1).map((r) => r.memory.numTensors);
    expect(new Set(counts).size).toBe(1);
    expect(values.get(`base_model.model.${Q}.lora_B.weight`)!.some((x) => x !== 0)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic: the same seed and data give a bit-identical adapter', async () => {
    const a = await run({ totalSteps: 5, gradAccum: 2, clip: 0.5 });
    const b = await run({ totalSteps: 5, gradAccum: 2, clip: 0.5 });
    expectIdentical(a.values, b.values);
    const c = await run({ totalSteps: 5, gradAccum: 2, clip: 0.5, seed: 1 });
    expect(Buffer.from(c.values.get(`base_model.model.${Q}.lora_A.weight`)!.buffer).equals(Buffer.from(a.values.get(`base_model.model.${Q}.lora_A.weight`)!.buffer))).toBe(false);
  });

  it('resumes from a checkpoint written to files and ends bit-identical to an uninterrupted run', async () => {
    const common = { totalSteps: 8, gradAccum: 2, clip: 1 } as const;
    const checkpoints: TrainCheckpoint[] = [];
    const whole = await run({ ...common, checkpointEvery: 3, onCheckpoint: (c) => void checkpoints.push(c) });
    expect(checkpoints.map((c) => c.step)).toEqual([3, 6]);
    const files = checkpointToFiles(checkpoints[0]);
    expect([...files.keys()].sort()).toEqual(['adapter_model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
    const adapter = readSafetensorsIndependently(files.get('adapter_model.safetensors')!);
    expect([...adapter.tensors.keys()]).toContain(`base_model.model.${Q}.lora_A.weight`);
    expect(adapter.metadata).toEqual({ format: 'pt' });
    const restored = await checkpointFromFiles(files);
    expect(restored.step).toBe(3);
    expect(restored.microStep).toBe(6);
    // a fresh adapter with another init: everything must come from the checkpoint
    const resumed = await run({ ...common, loraSeed: 99, resume: restored });
    expect(resumed.reports.map((r) => r.step)).toEqual([4, 5, 6, 7, 8]);
    expect(resumed.reports.map((r) => r.loss)).toEqual(whole.reports.slice(3).map((r) => r.loss));
    expectIdentical(resumed.values, whole.values);
  });

  it('checkpoints by training time as well as by steps, whichever comes first, before the time would pass', async () => {
    // A clock that moves 1 s on every reading: the loop reads it at the start and end of each step (so a step
    // takes 1 s) and around each checkpoint (1 s to take one).
    let t = 0;
    const now = () => (t += 1000) - 1000;
    const timed: number[] = [];
    await run({ totalSteps: 8, checkpointEveryMs: 3500, now, onCheckpoint: (c) => void timed.push(c.step) });
    // 1 s + 1 s + (1 s, and the next would pass 3.5 s) → step 3; then 1 s already spent taking it → 5, 7; none after the last.
    expect(timed).toEqual([3, 5, 7]);
    t = 0;
    const both: number[] = [];
    await run({ totalSteps: 8, checkpointEvery: 4, checkpointEveryMs: 3500, now, onCheckpoint: (c) => void both.push(c.step) });
    expect(both).toEqual([3, 4, 6, 8]);
  });

  it('checkpointDue: every N steps, or when the next step would pass the time since the last one', () => {
    const at = (o: Partial<Parameters<typeof checkpointDue>[0]>) => checkpointDue({ step: 5, totalSteps: 100, every: 0, everyMs: 0, sinceMs: 0, stepMs: 0, ...o });
    expect(at({})).toBe(false);
    expect(at({ every: 5 })).toBe(true);
    expect(at({ every: 4 })).toBe(false);
    expect(at({ everyMs: 10_000, sinceMs: 7_000, stepMs: 2_999 })).toBe(false);
    expect(at({ everyMs: 10_000, sinceMs: 7_000, stepMs: 3_000 })).toBe(true);
    // A step longer than the interval: a checkpoint after every step.
    expect(at({ everyMs: 10_000, sinceMs: 12_000, stepMs: 12_000 })).toBe(true);
    // No time checkpoint after the last step (the run finishes); the step rule still applies there.
    expect(at({ step: 100, everyMs: 10_000, sinceMs: 9_000, stepMs: 2_000 })).toBe(false);
    expect(at({ step: 100, every: 50 })).toBe(true);
  });

  it('pauses and resumes between steps without changing the result', async () => {
    const whole = await run({ totalSteps: 5 });
    const control = new TrainControl();
    const statuses: string[] = [];
    let resumedAt = 0;
    const paused = await run({
      totalSteps: 5,
      control,
      onStatus: (s) => statuses.push(s),
      onStep: (r) => {
        if (r.step === 2) {
          control.pause();
          setTimeout(() => {
            resumedAt = r.step;
            control.resume();
          }, 20);
        }
      },
    });
    expect(statuses).toEqual(['paused', 'running']);
    expect(resumedAt).toBe(2);
    expect(paused.result.status).toBe('completed');
    expectIdentical(paused.values, whole.values);
  });

  it('aborts between steps and between micro-batches; the aborted state resumes to the same adapter', async () => {
    const whole = await run({ totalSteps: 6, gradAccum: 2 });
    const ac = new AbortController();
    const stopped = await run({ totalSteps: 6, gradAccum: 2, signal: ac.signal, onStep: (r) => void (r.step === 3 && ac.abort()) });
    expect(stopped.result).toMatchObject({ status: 'aborted', step: 3, microStep: 6 });

    // abort while step 5's second micro-batch is being computed: step 5 is dropped and the RNG rewound
    const ac3 = new AbortController();
    const lora3 = initLora(LORA, model, 0);
    const params3 = loraParamMap(lora3);
    const opt3 = new AdamW({ weightDecay: 0.01 });
    const fn3 = sftLossFn(toyModel(lora3));
    const sched = makeSchedule({ kind: 'linear', baseLr: 3e-2, warmupSteps: 1, totalSteps: 6 });
    const batches = new SftBatches(DATA, { batchSize: 4, seed: 3, padId: 0 });
    const r3 = await train({
      params: params3, optimizer: opt3, batches, schedule: sched, totalSteps: 6, gradAccum: 2, signal: ac3.signal,
      lossFn: (b, ctx) => {
        if (ctx.microStep === 8) ac3.abort();
        return fn3(b, ctx);
      },
    });
    expect(r3).toMatchObject({ status: 'aborted', step: 4, microStep: 8 });
    const state = await captureCheckpoint(params3, opt3, r3.step, r3.microStep, Rng.fromState(r3.rngState));
    opt3.dispose();
    disposeLora(lora3);
    const finished = await run({ totalSteps: 6, gradAccum: 2, resume: state });
    expectIdentical(finished.values, whole.values);
  });

  it('accumulating 2 micro-batches of 2 equals one batch of 4 (loss weighted by counted positions)', async () => {
    // (without dropout: masks differ with the batch shape)
    const big = await run({ totalSteps: 1, batchSize: 4, gradAccum: 1, lr: 1e-2, loraDropout: 0 });
    const acc = await run({ totalSteps: 1, batchSize: 2, gradAccum: 2, lr: 1e-2, loraDropout: 0 });
    expect(Math.abs(acc.reports[0].loss - big.reports[0].loss)).toBeLessThan(1e-5);
    expect(Math.abs(acc.reports[0].gradNorm - big.reports[0].gradNorm) / big.reports[0].gradNorm).toBeLessThan(1e-4);
    // both start from the same init; after one (warmup: lr 0) step nothing moved, so compare a second step
    const big2 = await run({ totalSteps: 2, batchSize: 4, gradAccum: 1, lr: 1e-2, loraDropout: 0 });
    const acc2 = await run({ totalSteps: 2, batchSize: 2, gradAccum: 2, lr: 1e-2, loraDropout: 0 });
    for (const [n, x] of big2.values) {
      const y = acc2.values.get(n)!;
      let d = 0;
      for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
      expect(d, n).toBeLessThan(1e-5);
    }
  });

  it('trains the same through the hidden-states view with the chunked loss', async () => {
    const full = await run({ totalSteps: 4, gradAccum: 2 });
    const chunked = await run({ totalSteps: 4, gradAccum: 2, chunkRows: 7 });
    for (let i = 0; i < 4; i++) expect(Math.abs(chunked.reports[i].loss - full.reports[i].loss)).toBeLessThan(1e-5);
    for (const [n, x] of full.values) {
      const y = chunked.values.get(n)!;
      let d = 0;
      for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
      expect(d, n).toBeLessThan(1e-5);
    }
  });

  it('stops with a training error on a non-finite loss and leaves the parameters as they were', async () => {
    const lora = initLora(LORA, model, 0);
    const params = loraParamMap(lora);
    const beforeValues = [...params.values()].map((v) => Float32Array.from(v.dataSync()));
    const fn = sftLossFn(toyModel(lora));
    const opt = new AdamW();
    const err = await train({
      params, optimizer: opt, totalSteps: 3, schedule: () => 1e-2,
      batches: new SftBatches(DATA, { batchSize: 4, seed: 3, padId: 0 }),
      lossFn: (b, ctx) => tf.tidy(() => tf.mul(fn(b, ctx), tf.scalar(NaN))),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('training');
    expect((err as AppError).message).toMatch(/loss became NaN at step 1; the adapter is kept as it was after step 0/);
    [...params.values()].forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(beforeValues[i])));
    opt.dispose();
    disposeLora(lora);
  });

  it('trains DPO through the same loop (chunked view): the first loss is log 2 (adapter off = reference) and it falls', async () => {
    const pairs: PreferenceExample[] = DATA.slice(0, 12).map((s, i) => {
      const wrong = Int32Array.from(s.inputIds, (x, t) => (t < 2 ? x : (x + 7) % V));
      return { chosen: s, rejected: { inputIds: wrong, labels: Int32Array.from(wrong, (x, t) => (t < 2 ? -100 : x)) }, line: i + 1, truncated: false };
    });
    const lora = initLora({ ...LORA, dropout: 0 }, model, 0);
    const params = loraParamMap(lora);
    const opt = new AdamW();
    const reports: StepReport[] = [];
    const before = tf.memory().numTensors;
    await train({
      params, optimizer: opt, totalSteps: 15, schedule: () => 2e-2,
      batches: new PreferenceBatches(pairs, { batchSize: 4, seed: 1, padId: 0 }),
      lossFn: dpoLossFn({ hidden: toyHidden(lora), head: headT, chunkRows: 16 }, 0.5),
      onStep: (r) => void reports.push(r),
    });
    expect(reports[0].loss).toBeCloseTo(Math.LN2, 5);
    expect(reports[14].loss).toBeLessThan(reports[0].loss * 0.8);
    expect(new Set(reports.slice(1).map((r) => r.memory.numTensors)).size).toBe(1);
    opt.dispose();
    disposeLora(lora);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });
});
