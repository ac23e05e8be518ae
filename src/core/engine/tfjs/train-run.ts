/**
 * One LoRA training run on a loaded model, from TRL rows to trained adapter weights: the shared core of the
 * tfjs host (worker and in-process) and of `lm train`.
 *
 *   rows ──(chat template, assistant-only labels, truncation)──► examples ──► bucketed seeded batches
 *   LoRA variables (fresh: PEFT init from the seed; or copied from an adapter; or restored from a checkpoint)
 *   train(): SFT = causal-LM loss, DPO = sigmoid DPO (+ RPO's NLL term) against the frozen start adapter (the
 *            SFT model; the base model for a fresh adapter); AdamW/SGD, schedule,
 *            gradient accumulation and clipping; progress per step; checkpoints as files; pause/abort.
 *
 * The loss never builds [B·T, V] logits: the model is seen as final hidden states plus its frozen LM head and
 * the cross-entropy works through the positions in chunks (see train/loss.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { requireF32 } from '../../model/weights.ts';
import { AppError } from '../../errors.ts';
import { disposeLora, initLora, toVariable } from '../../lora/init.ts';
import { loraLinears } from '../../lora/linear.ts';
import { parsePeftConfig, validateAdapter } from '../../lora/peft-load.ts';
import { peftAdapterConfigJson } from '../../lora/peft-save.ts';
import type { LoraConfig, LoraWeights } from '../../lora/types.ts';
import { checkpointedLoraGrads } from '../../train/checkpointed-grads.ts';
import { forwardHidden, type LlamaModel } from '../../model/llama.ts';
import type { ModelConfig } from '../../model/types.ts';
import { peftTensorName } from '../../lora/peft-names.ts';
import { dpoRpoLoss, dpoStepStats, type DpoStepStats } from '../../train/dpo.ts';
import { causalLmLossFromHidden, sequenceLogProbsFromHidden } from '../../train/loss.ts';
import type { TextTokenizer } from '../../text/types.ts';
import { AdamW } from '../../train/adamw.ts';
import { PreferenceBatches, SftBatches, defaultBuckets, evenLengthBuckets, stepsForEpochs, type BatchSource, type PreferenceBatch, type TokenBatch } from '../../train/batches.ts';
import { checkpointFromFiles, checkpointToFiles, type TrainCheckpoint } from '../../train/checkpoint.ts';
import type { TrainControl } from '../../train/control.ts';
import { encodePreferenceRows, encodeSftRows } from '../../train/data-encode.ts';
import type { EncodeReport, TrainRow } from '../../train/data-types.ts';
import { loraParamMap } from '../../train/lora-params.ts';
import { train, type GradFn, type LossContext, type LossFn } from '../../train/loop.ts';
import { dpoLossFn, sftLossFn, type DpoLogpsSink, type HiddenModel } from '../../train/objectives.ts';
import type { Optimizer } from '../../train/optimizer.ts';
import { makeSchedule } from '../../train/schedule.ts';
import { Sgd } from '../../train/sgd.ts';
import type { TfjsTrainConfig, TrainProgressMessage } from './api.ts';
import { validateTrainConfig } from './train-config.ts';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

/** What training needs of a loaded model. */
export interface TrainableModel extends LlamaModel {
  tokenizer: TextTokenizer;
}

export interface LoraRunInput {
  model: TrainableModel;
  method: 'sft' | 'dpo';
  /** Parsed TRL rows (train/data-parse.ts). */
  rows: readonly TrainRow[];
  config: TfjsTrainConfig;
  /** Continue from these adapter weights (their LoRA config applies instead of config.lora). Not disposed. */
  from?: LoraWeights | null;
  /** Continue an interrupted run from a checkpoint's files (as `checkpoint` progress messages carry them). */
  resume?: ReadonlyMap<string, Uint8Array> | null;
  /** `base_model_name_or_path` in checkpoint files. */
  baseModel: string;
  signal?: AbortSignal;
  control?: TrainControl;
  onProgress?: (message: TrainProgressMessage) => void | Promise<void>;
}

export interface LoraRunResult {
  status: 'completed' | 'aborted';
  /** The adapter after the last completed step, as plain tensors (not variables). The caller disposes it. */
  weights: LoraWeights;
  steps: number;
  totalSteps: number;
  finalLoss: number | null;
  report: EncodeReport;
  seconds: number;
}

/** Heads up to this many entries get a transposed copy for the run (SmolLM2-135M's: 28 M, 113 MB). */
export const HEAD_T_MAX_ENTRIES = 64 * 2 ** 20;

export interface ViewOptions {
  /** The head transposed [V, H] (frozen; made once per run), whole or in row blocks: see transposedHead. */
  headT?: tf.Tensor2D | readonly tf.Tensor2D[] | null;
  chunkRows?: number;
  /** DPO's reference: the frozen adapter training started from (null or absent = the base model). */
  reference?: LoraWeights | null;
}

/** How a training pass runs: the view, gradient checkpointing, and DPO's RPO weight and log-prob sink. */
export interface PassOptions extends ViewOptions {
  checkpoint?: 'auto' | boolean;
  rpoAlpha?: number;
  onLogps?: DpoLogpsSink;
}

/** The model as final hidden states + frozen LM head: `lora` on (the policy), or the reference pass (`o.reference`, else no adapter). */
export function hiddenView(model: LlamaModel, lora: LoraWeights, o: ViewOptions = {}): HiddenModel {
  return {
    hidden: (ids, f) =>
      forwardHidden(model, ids, {
        linears: f.adapter ? loraLinears(lora, { training: f.training && f.seed !== undefined ? { dropoutSeed: f.seed } : null }) : loraLinears(o.reference),
      }),
    head: lmHeadOf(model), // [H, V]
    headT: o.headT ?? null,
    ...(o.chunkRows ? { chunkRows: o.chunkRows } : {}),
  };
}

/** The LM head [H, V] (the tied embedding when there is no separate head). */
export function lmHeadOf(model: LlamaModel): tf.Tensor2D {
  return model.weights.lmHead ?? model.weights.embedding;
}

/** Rows per block of the transposed head (see HeadLossOptions.headT). */
export const HEAD_T_BLOCK_ROWS = 512;

/**
 * A transposed copy of the head for a training run, in row blocks of HEAD_T_BLOCK_ROWS ([k, H] each, over
 * consecutive vocabulary ranges), or null when it would take too much memory. Dispose with tf.dispose.
 */
export function transposedHead(model: LlamaModel): tf.Tensor2D[] | null {
  const head = lmHeadOf(model); // [H, V]
  if (head.size > HEAD_T_MAX_ENTRIES) return null;
  return tf.tidy(() => {
    const t = tf.transpose(head); // [V, H]
    const V = t.shape[0];
    const sizes = Array.from({ length: Math.ceil(V / HEAD_T_BLOCK_ROWS) }, (_, i) => Math.min(HEAD_T_BLOCK_ROWS, V - i * HEAD_T_BLOCK_ROWS));
    return tf.split(t, sizes, 0) as tf.Tensor2D[];
  });
}

/**
 * Activation memory of a training pass without checkpointing, estimated per token and layer as
 * 4·(40·H + 16·I + 12·nH·T) bytes: calibrated on tfjs-wasm's heap growth for SmolLM2-135M's shape (~300 MB per
 * layer at 4 × 256 tokens). Above the budget the trainer checkpoints (train/checkpointed-grads.ts).
 */
export function activationBytes(c: ModelConfig, rows: number, seqLen: number): number {
  const perToken = 4 * (40 * c.hiddenSize + 16 * c.intermediateSize + 12 * c.numHeads * seqLen);
  return perToken * rows * seqLen * c.numLayers;
}

/** Checkpoint when activations would take more than this (wasm has 4 GB in all; browsers often less). */
export const ACTIVATION_BUDGET_BYTES = 1024 * 2 ** 20;

function tokenTensors(batch: TokenBatch): { ids: tf.Tensor2D; labels: tf.Tensor2D } {
  return {
    ids: tf.tensor2d(batch.inputIds, [batch.rows, batch.seqLen], 'int32'), // [B, T]
    labels: tf.tensor2d(batch.labels, [batch.rows, batch.seqLen], 'int32'), // [B, T]
  };
}

/**
 * Loss and LoRA gradients (by PEFT name) of one micro-batch: with gradient checkpointing when the batch's
 * activations would exceed the budget (`checkpoint: 'auto'`, the default) or always/never as asked, otherwise
 * tf.variableGrads over loraLossFn. Both draw the same dropout seed from the loop's RNG, so they train alike.
 */
export function loraGradFn(model: LlamaModel, lora: LoraWeights, method: 'sft', beta?: number, view?: PassOptions): GradFn<TokenBatch>;
export function loraGradFn(model: LlamaModel, lora: LoraWeights, method: 'dpo', beta?: number, view?: PassOptions): GradFn<PreferenceBatch>;
export function loraGradFn(model: LlamaModel, lora: LoraWeights, method: 'sft' | 'dpo', beta = 0.1, view: PassOptions = {}): GradFn<TokenBatch> | GradFn<PreferenceBatch> {
  const params = loraParamMap(lora);
  const vars = [...params.values()];
  const nameOf = new Map(vars.map((v, i) => [v.name, [...params.keys()][i]]));
  const head = lmHeadOf(model);
  const headOpts = { headT: view.headT ?? null, chunkRows: view.chunkRows };
  const plain = method === 'sft' ? loraLossFn(model, lora, 'sft', beta, view) : loraLossFn(model, lora, 'dpo', beta, view);
  const checkpointed = (batch: TokenBatch | PreferenceBatch): boolean =>
    view.checkpoint === true || ((view.checkpoint ?? 'auto') === 'auto' && activationBytes(model.config, batch.rows, batch.seqLen) > ACTIVATION_BUDGET_BYTES);
  return (batch: TokenBatch | PreferenceBatch, ctx: LossContext) => {
    if (!checkpointed(batch)) {
      const r = tf.variableGrads(() => (plain as LossFn<TokenBatch | PreferenceBatch>)(batch, ctx), vars);
      return { value: r.value, grads: new Map(Object.entries(r.grads).map(([v, g]) => [nameOf.get(v)!, g])) };
    }
    const { ids, labels } = tokenTensors(batch);
    try {
      let headLoss: (hidden: tf.Tensor3D) => tf.Scalar;
      let ref: tf.Tensor1D | null = null;
      if (method === 'sft') {
        headLoss = (h) => causalLmLossFromHidden(h, head, labels, { ...headOpts, grad: 'eager' });
      } else {
        const { pairs, chosenTokens } = batch as PreferenceBatch;
        // The reference: the frozen start adapter (or the base model), no gradient ([2P]).
        const r = tf.tidy(() => sequenceLogProbsFromHidden(forwardHidden(model, ids, { linears: loraLinears(view.reference) }), head, labels, { ...headOpts, grad: 'lazy' }));
        ref = r;
        headLoss = (h) =>
          tf.tidy(() => {
            const policy = sequenceLogProbsFromHidden(h, head, labels, { ...headOpts, grad: 'eager' }); // [2P]
            view.onLogps?.(policy, r, pairs);
            return dpoRpoLoss(policy, r, pairs, beta, view.rpoAlpha ?? 0, chosenTokens);
          });
      }
      const seed = ctx.rng.nextUint32();
      const out = checkpointedLoraGrads(model, ids, lora, { training: { dropoutSeed: seed } }, headLoss);
      ref?.dispose();
      const grads = new Map<string, tf.Tensor>();
      for (const [module, g] of out.grads) {
        grads.set(peftTensorName(module, 'A'), g.a);
        grads.set(peftTensorName(module, 'B'), g.b);
      }
      return { value: out.value, grads };
    } finally {
      tf.dispose([ids, labels]);
    }
  };
}

/** The loss of one micro-batch for the method. */
export function loraLossFn(model: LlamaModel, lora: LoraWeights, method: 'sft', beta?: number, view?: PassOptions): LossFn<TokenBatch>;
export function loraLossFn(model: LlamaModel, lora: LoraWeights, method: 'dpo', beta?: number, view?: PassOptions): LossFn<PreferenceBatch>;
export function loraLossFn(model: LlamaModel, lora: LoraWeights, method: 'sft' | 'dpo', beta = 0.1, view: PassOptions = {}): LossFn<TokenBatch> | LossFn<PreferenceBatch> {
  const v = hiddenView(model, lora, view);
  return method === 'sft' ? sftLossFn(v) : dpoLossFn(v, { beta, rpoAlpha: view.rpoAlpha, onLogps: view.onLogps });
}

/** Keeps each DPO micro-batch's log-probabilities until the step's report reads them. */
class DpoLogpsLog {
  #parts: { policy: tf.Tensor1D; reference: tf.Tensor1D; pairs: number }[] = [];
  readonly sink: DpoLogpsSink = (policy, reference, pairs) => {
    this.#parts.push({ policy: tf.keep(tf.clone(policy)), reference: tf.keep(tf.clone(reference)), pairs });
  };

  /** The stats of the micro-batches since the last call. */
  async take(beta: number): Promise<DpoStepStats> {
    const parts = this.#parts;
    this.#parts = [];
    try {
      return dpoStepStats(await Promise.all(parts.map(async (x) => ({ policy: await x.policy.data(), reference: await x.reference.data(), pairs: x.pairs }))), beta);
    } finally {
      for (const x of parts) tf.dispose([x.policy, x.reference]);
    }
  }

  dispose(): void {
    for (const x of this.#parts) tf.dispose([x.policy, x.reference]);
    this.#parts = [];
  }
}

/** Trainable copies (tf.Variables) of adapter weights. */
export function trainableCopy(w: LoraWeights): LoraWeights {
  const modules = new Map<string, { a: tf.Tensor2D; b: tf.Tensor2D }>();
  for (const [path, { a, b }] of w.modules) modules.set(path, { a: toVariable(tf.clone(a)), b: toVariable(tf.clone(b)) });
  return { config: { ...w.config, targetModules: [...w.config.targetModules] }, scaling: w.scaling, modules };
}

/** Plain-tensor copies of (trained) adapter weights; the variables are left alone. Reads asynchronously (WebGPU). */
export async function frozenCopy(w: LoraWeights): Promise<LoraWeights> {
  const modules = new Map<string, { a: tf.Tensor2D; b: tf.Tensor2D }>();
  for (const [path, { a, b }] of w.modules) {
    const [ad, bd] = await Promise.all([a.data(), b.data()]);
    modules.set(path, { a: tf.tensor2d(ad as Float32Array, a.shape), b: tf.tensor2d(bd as Float32Array, b.shape) });
  }
  return { config: w.config, scaling: w.scaling, modules };
}

/** A checkpoint as files: trainer_state.json, optimizer.safetensors, and a loadable PEFT adapter (config + weights). */
export function checkpointFiles(c: TrainCheckpoint, lora: LoraConfig, baseModel: string): Map<string, Uint8Array> {
  const files = checkpointToFiles(c, { paramsFile: 'adapter_model.safetensors' });
  files.set(ADAPTER_CONFIG_FILE, new TextEncoder().encode(peftAdapterConfigJson(lora, { baseModel })));
  return files;
}

function padIdOf(tok: TextTokenizer): number {
  return tok.padTokenId ?? tok.eosTokenIds[0] ?? 0;
}

export async function runLoraTraining(input: LoraRunInput): Promise<LoraRunResult> {
  const { model, method, config } = input;
  requireF32(model.weights, 'LoRA training');
  validateTrainConfig(config);
  const started = now();
  const emit = async (m: TrainProgressMessage): Promise<void> => void (await input.onProgress?.(m));
  await emit({ kind: 'status', status: 'preparing' });

  // Data → examples → batches.
  const encodeOptions = { seqLen: config.seqLen };
  const batchOptions = { batchSize: config.batchSize, seed: config.seed, padId: padIdOf(model.tokenizer), buckets: config.groupByLength ? evenLengthBuckets(config.seqLen) : defaultBuckets(config.seqLen), groupByLength: config.groupByLength === true };
  let report: EncodeReport;
  let batches: BatchSource<TokenBatch> | BatchSource<PreferenceBatch>;
  if (method === 'sft') {
    const { examples, report: r } = encodeSftRows(input.rows, model.tokenizer, encodeOptions);
    report = r;
    if (examples.length === 0) throw new AppError('bad-input', `All ${r.rows} rows lost every answer token to truncation at ${config.seqLen} tokens; raise the sequence length.`);
    batches = new SftBatches(examples, batchOptions);
  } else {
    const { examples, report: r } = encodePreferenceRows(input.rows, model.tokenizer, encodeOptions);
    report = r;
    if (examples.length === 0) throw new AppError('bad-input', `All ${r.rows} preference rows lost an answer to truncation at ${config.seqLen} tokens; raise the sequence length.`);
    batches = new PreferenceBatches(examples, batchOptions);
  }
  const totalSteps = config.steps ?? stepsForEpochs(batches.perEpoch, config.gradAccum, config.epochs);
  await emit({ kind: 'prepared', examples: report.examples, truncated: report.truncated, dropped: report.dropped, totalSteps });

  // The adapter being trained, as variables.
  let checkpoint: TrainCheckpoint | undefined;
  let lora: LoraWeights;
  if (input.resume) {
    const cfgBytes = input.resume.get(ADAPTER_CONFIG_FILE);
    if (!cfgBytes) throw new AppError('bad-input', `Cannot resume: the checkpoint has no ${ADAPTER_CONFIG_FILE}.`);
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(cfgBytes));
    } catch {
      throw new AppError('bad-input', `Cannot resume: the checkpoint's ${ADAPTER_CONFIG_FILE} is not valid JSON.`);
    }
    checkpoint = await checkpointFromFiles(input.resume);
    lora = initLora(parsePeftConfig(raw).lora, model.config, config.seed); // values come from the checkpoint
  } else if (input.from) {
    validateAdapter(model.config, input.from);
    lora = trainableCopy(input.from);
  } else {
    lora = initLora(config.lora, model.config, config.seed);
  }

  const optimizer: Optimizer = config.optimizer === 'adamw' ? new AdamW({ weightDecay: config.weightDecay }) : new Sgd({ weightDecay: config.weightDecay });
  const headT = transposedHead(model);
  const dpoLog = method === 'dpo' ? new DpoLogpsLog() : null;
  try {
    const params = loraParamMap(lora);
    const common = {
      params,
      totalSteps,
      optimizer,
      schedule: makeSchedule({ kind: config.schedule, baseLr: config.lr, warmupSteps: config.warmupSteps, totalSteps: Math.max(1, totalSteps) }),
      gradAccum: config.gradAccum,
      clip: config.clip,
      seed: config.seed,
      checkpointEvery: config.checkpointEvery,
      checkpointEveryMs: config.checkpointSeconds * 1000,
      signal: input.signal,
      control: input.control,
      resume: checkpoint,
      onStatus: (status: 'paused' | 'running') => void emit({ kind: 'status', status }),
      onStep: async (s: { step: number; totalSteps: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; memory: { numBytes: number } }) =>
        emit({
          kind: 'step',
          step: s.step,
          totalSteps: s.totalSteps,
          loss: s.loss,
          lr: s.lr,
          gradNorm: s.gradNorm,
          tokensPerSec: s.tokensPerSec,
          memoryBytes: s.memory.numBytes,
          elapsedMs: now() - started,
          ...(dpoLog ? { dpo: await dpoLog.take(config.beta) } : {}),
        }),
      onCheckpoint: (c: TrainCheckpoint) => emit({ kind: 'checkpoint', step: c.step, files: Object.fromEntries(checkpointFiles(c, lora.config, input.baseModel)) }),
    };
    await emit({ kind: 'status', status: 'running' });
    const result =
      method === 'sft'
        ? await train({ ...common, gradFn: loraGradFn(model, lora, 'sft', config.beta, { headT }), batches: batches as BatchSource<TokenBatch> })
        : await train({
            ...common,
            // πref is the adapter training started from, frozen (the SFT model in SRT), not the base model.
            gradFn: loraGradFn(model, lora, 'dpo', config.beta, { headT, reference: input.from ?? null, rpoAlpha: config.rpoAlpha ?? 0, onLogps: dpoLog!.sink }),
            batches: batches as BatchSource<PreferenceBatch>,
          });
    return {
      status: result.status,
      weights: await frozenCopy(lora),
      steps: result.step,
      totalSteps,
      finalLoss: result.lastLoss,
      report,
      seconds: (now() - started) / 1000,
    };
  } finally {
    if (headT) tf.dispose(headT);
    dpoLog?.dispose();
    optimizer.dispose();
    disposeLora(lora);
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
