/**
 * Full-parameter training of the toy model from scratch with the project's own trainer pieces: a tiny Llama
 * (config from `proposedToyConfigJson`), seeded N(0, 0.02) weights with the residual output projections
 * (o_proj, down_proj) scaled by 1/√(2·layers), every base weight a tf.Variable fed through the runtime's
 * differentiable `forward`, causal-LM loss on the assistant tokens only, AdamW, warmup + cosine decay to a
 * floor, clipping by global norm, length-grouped token-budget batches and the generic `train` loop.
 *
 * Reproducible: the data order comes from the seed, the initial weights from the seed, and the step count is
 * part of the plan (never derived from measured speed). Same plan and backend → identical weights.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { parseModelConfig } from '../model/config.ts';
import { randomWeights } from '../model/init.ts';
import { forward, type LlamaModel } from '../model/llama.ts';
import type { ModelConfig } from '../model/types.ts';
import { emptyWeights, hfTensorSpecs, type ModelWeights } from '../model/weights.ts';
import type { ChatMessage, TextTokenizer } from '../text/types.ts';
import { AdamW } from '../train/adamw.ts';
import type { TokenBatch } from '../train/batches.ts';
import { encodeSftRows } from '../train/data-encode.ts';
import type { EncodeReport, TrainRow } from '../train/data-types.ts';
import { train, type StepReport, type TrainResult } from '../train/loop.ts';
import { causalLmLoss } from '../train/loss.ts';
import { makeSchedule } from '../train/schedule.ts';
import { evenBuckets, LengthGroupedBatches } from './length-batches.ts';
import { PROPOSED_TOY_SHAPE, llamaParamCount, proposedToyConfigJson, type ToyModelShape } from './model-config.ts';

/** Everything that decides the trained weights besides the data (and the backend's arithmetic). */
export interface ToyTrainPlan {
  shape: Omit<ToyModelShape, 'vocabSize'>;
  /** Optimizer steps. */
  steps: number;
  /** Padded tokens per step. */
  tokenBudget: number;
  /** Length bucket granularity in tokens. */
  bucketStep: number;
  peakLr: number;
  /** The cosine decays from peakLr to peakLr · minLrRatio. */
  minLrRatio: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  clip: number;
  initStd: number;
}

export const DEFAULT_TOY_TRAIN_PLAN: Readonly<ToyTrainPlan> = {
  shape: PROPOSED_TOY_SHAPE,
  steps: 8000,
  tokenBudget: 1024,
  bucketStep: 8,
  peakLr: 2e-3,
  minLrRatio: 0.1,
  warmupSteps: 60,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.98,
  clip: 1,
  initStd: 0.02,
};

export interface ToyTrainOptions {
  tokenizer: TextTokenizer;
  /** Training chats (toyTrainingChats): loss on the assistant turns. */
  chats: readonly ChatMessage[][];
  plan: ToyTrainPlan;
  seed: number;
  /**
   * Start from these weights (a model of the same shape and vocabulary, e.g. the previous build) instead of
   * the seeded random ones: continued training on a revised corpus. They are copied; the caller keeps them.
   */
  init?: ModelWeights;
  onStep?: (report: StepReport) => void | Promise<void>;
  /** Called after every `snapshotEvery` steps (not after the last) with the model as trained so far. */
  snapshotEvery?: number;
  onSnapshot?: (step: number, model: LlamaModel) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface ToyTrainOutcome {
  config: ModelConfig;
  /** The config.json written next to the weights. */
  configJson: Record<string, unknown>;
  /** Trained weights (tf.Variables; the caller disposes them). */
  weights: ModelWeights;
  parameters: number;
  encode: EncodeReport;
  batchesPerEpoch: number;
  buckets: ReturnType<LengthGroupedBatches['describe']>;
  result: TrainResult;
}

/** Learning rate at a 0-based step: linear warmup to peakLr, then a half cosine down to peakLr · minLrRatio. */
export function toyLearningRate(plan: ToyTrainPlan): (step: number) => number {
  const factor = makeSchedule({ kind: 'cosine', baseLr: 1, warmupSteps: plan.warmupSteps, totalSteps: plan.steps });
  const floor = plan.peakLr * plan.minLrRatio;
  return (step) => (step < plan.warmupSteps ? plan.peakLr * factor(step) : floor + (plan.peakLr - floor) * factor(step));
}

/** Seeded initial weights as trainable variables, named by their Hugging Face checkpoint names. */
export function initialToyWeights(config: ModelConfig, seed: number, std: number): { weights: ModelWeights; params: Map<string, tf.Variable> } {
  const weights = randomWeights(config, seed, std);
  const residualScale = 1 / Math.sqrt(2 * config.numLayers);
  const params = new Map<string, tf.Variable>();
  for (const spec of hfTensorSpecs(config)) {
    const t = spec.get(weights);
    if (!t) throw new AppError('internal', `The initial weights lack ${spec.name}.`);
    const scaled = /o_proj|down_proj/.test(spec.name) ? tf.tidy(() => tf.mul(t, residualScale)) : t;
    const v = tf.variable(scaled, true);
    if (scaled !== t) scaled.dispose();
    t.dispose();
    spec.set(weights, v);
    params.set(spec.name, v);
  }
  return { weights, params };
}

/** Trainable copies of existing weights (same config), named by their Hugging Face checkpoint names. */
export function copiedToyWeights(config: ModelConfig, from: ModelWeights): { weights: ModelWeights; params: Map<string, tf.Variable> } {
  const weights = emptyWeights(config);
  const params = new Map<string, tf.Variable>();
  for (const spec of hfTensorSpecs(config)) {
    const shape = spec.transposed ? [spec.hfShape[1], spec.hfShape[0]] : spec.hfShape;
    const source = spec.get(from);
    if (!source || source.shape.join() !== shape.join()) {
      throw new AppError('bad-input', `The starting model's ${spec.name} is ${source ? `[${source.shape.join(', ')}]` : 'missing'}, not [${shape.join(', ')}]: it must have the same shape and vocabulary.`);
    }
    const v = tf.variable(source, true); // shares the data until the first update; the caller may dispose its copy
    spec.set(weights, v);
    params.set(spec.name, v);
  }
  return { weights, params };
}

function checkPlan(p: ToyTrainPlan): void {
  const wholes: [string, number][] = [['steps', p.steps], ['tokenBudget', p.tokenBudget], ['bucketStep', p.bucketStep]];
  for (const [name, v] of wholes) if (!Number.isInteger(v) || v < 1) throw new AppError('bad-input', `The training plan's ${name} must be a positive whole number (got ${v}).`);
  if (!Number.isInteger(p.warmupSteps) || p.warmupSteps < 0) throw new AppError('bad-input', `Warmup steps must be a whole number ≥ 0 (got ${p.warmupSteps}).`);
  if (!(p.peakLr > 0) || !(p.minLrRatio >= 0 && p.minLrRatio <= 1)) throw new AppError('bad-input', 'The learning rate must be positive and minLrRatio within [0, 1].');
}

export async function trainToyModel(o: ToyTrainOptions): Promise<ToyTrainOutcome> {
  const { plan, tokenizer } = o;
  checkPlan(plan);
  const configJson = proposedToyConfigJson(tokenizer.vocabSize, plan.shape);
  const config = parseModelConfig(configJson);
  const seqLen = config.maxPositionEmbeddings;
  const rows: TrainRow[] = o.chats.map((messages, i) => ({ kind: 'conversational', line: i + 1, messages }));
  const { examples, report } = encodeSftRows(rows, tokenizer, { seqLen });
  if (report.truncated > 0) throw new AppError('bad-input', `${report.truncated} training chats are longer than the model's ${seqLen}-token context.`);
  const longest = examples.reduce((m, e) => Math.max(m, e.inputIds.length), 0);
  const batches = new LengthGroupedBatches(examples, {
    tokenBudget: plan.tokenBudget,
    buckets: evenBuckets(longest, plan.bucketStep),
    seed: o.seed,
    padId: tokenizer.padTokenId ?? 0,
  });

  const { weights, params } = o.init ? copiedToyWeights(config, o.init) : initialToyWeights(config, o.seed, plan.initStd);
  const model: LlamaModel = { config, weights };
  const lossFn = (batch: TokenBatch): tf.Scalar =>
    tf.tidy(() => {
      const ids = tf.tensor2d(batch.inputIds, [batch.rows, batch.seqLen], 'int32'); // [B, T]
      const labels = tf.tensor2d(batch.labels, [batch.rows, batch.seqLen], 'int32'); // [B, T]
      return causalLmLoss(forward(model, ids), labels);
    });
  const optimizer = new AdamW({ beta1: plan.beta1, beta2: plan.beta2, weightDecay: plan.weightDecay });
  let result: TrainResult;
  try {
    result = await train({
      params,
      lossFn,
      batches,
      totalSteps: plan.steps,
      optimizer,
      schedule: toyLearningRate(plan),
      clip: plan.clip,
      seed: o.seed,
      onStep: async (r) => {
        await o.onStep?.(r);
        const every = o.snapshotEvery ?? 0;
        if (every > 0 && r.step % every === 0 && r.step < r.totalSteps) await o.onSnapshot?.(r.step, model);
      },
      signal: o.signal,
    });
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
  return {
    config,
    configJson,
    weights,
    parameters: llamaParamCount({ ...plan.shape, vocabSize: tokenizer.vocabSize }),
    encode: report,
    batchesPerEpoch: batches.perEpoch,
    buckets: batches.describe(),
    result,
  };
}
