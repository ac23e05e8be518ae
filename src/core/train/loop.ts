/**
 * The generic training loop: any set of named tf.Variables, any differentiable loss over any batch type.
 *
 * One optimizer step consumes `gradAccum` consecutive micro-batches from an index-addressed BatchSource.
 * Each micro-batch's mean loss is weighted by its share of the step's `weight` (counted positions, or pairs),
 * so accumulating equals one large batch, as Hugging Face does since transformers 4.46. Gradients are
 * clipped by global norm, the learning rate comes from a pure schedule, and the optimizer updates the
 * variables. Every step is reported (loss, lr, grad norm, tokens/s, memory); a checkpoint can be taken every
 * N steps and/or every T ms of training, whichever comes first (`checkpointDue`); the run can be paused
 * (TrainControl) and aborted (AbortSignal) between steps and between micro-batches. Everything random comes
 * from one seeded RNG whose state is part of the checkpoint, so a resumed run ends bit-identical to an
 * uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { BatchInfo, BatchSource } from './batches.ts';
import { captureCheckpoint, type TrainCheckpoint } from './checkpoint.ts';
import type { TrainControl } from './control.ts';
import { clipByGlobalNorm } from './grad-clip.ts';
import type { Optimizer } from './optimizer.ts';
import { deriveSeed, Rng, type RngState } from '../random/rng.ts';

/** What a loss function gets besides the batch. */
export interface LossContext {
  /** The optimizer step being computed (0-based). */
  step: number;
  /** Global index of this micro-batch. */
  microStep: number;
  /** The loop's RNG: draw dropout seeds from it (never from Math.random) so runs are reproducible. */
  rng: Rng;
}

/** Mean loss of one micro-batch (a scalar tensor built from the variables being trained). */
export type LossFn<B> = (batch: B, ctx: LossContext) => tf.Scalar;

/**
 * The mean loss of one micro-batch and its gradient for each named parameter, computed by the caller (for
 * instance with gradient checkpointing, which tf.variableGrads cannot do). The loop disposes both.
 */
export type GradFn<B> = (batch: B, ctx: LossContext) => { value: tf.Scalar; grads: Map<string, tf.Tensor> };

export interface StepReport {
  /** Optimizer steps completed, 1-based. */
  step: number;
  totalSteps: number;
  /** Epochs completed, fractional (micro-batches consumed / micro-batches per epoch). */
  epoch: number;
  /** Loss of this step: the weighted mean over its micro-batches, before the update. */
  loss: number;
  /** Learning rate used for this update. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Real tokens in this step's micro-batches. */
  tokens: number;
  stepMs: number;
  tokensPerSec: number;
  /** tf.memory() after the step. */
  memory: { numTensors: number; numBytes: number; numBytesInGPU?: number };
}

export interface TrainOptions<B extends BatchInfo> {
  /** The trainable parameters by name (for LoRA: PEFT tensor names). */
  params: ReadonlyMap<string, tf.Variable>;
  /** The loss, differentiated by the loop (tf.variableGrads). Give this or gradFn. */
  lossFn?: LossFn<B>;
  /** Loss and gradients computed by the caller; used instead of lossFn. */
  gradFn?: GradFn<B>;
  batches: BatchSource<B>;
  /** Stop after this many optimizer steps (counting steps done before a resume). */
  totalSteps: number;
  optimizer: Optimizer;
  /** Learning rate for a 0-based step. */
  schedule: (step: number) => number;
  /** Micro-batches per optimizer step (default 1). */
  gradAccum?: number;
  /** Global gradient-norm limit; 0 or absent = no clipping. */
  clip?: number;
  /** Seeds the loop's RNG on a fresh start (default 0). */
  seed?: number;
  /** Take a checkpoint after every N steps (0 or absent = never). */
  checkpointEvery?: number;
  /**
   * Also take one so that at most this much training time (ms, pauses excluded) goes by without one
   * (0 or absent = no time rule). See `checkpointDue`.
   */
  checkpointEveryMs?: number;
  /** The clock for step times and the time rule (default performance.now). */
  now?: () => number;
  onStep?: (report: StepReport) => void | Promise<void>;
  onCheckpoint?: (checkpoint: TrainCheckpoint) => void | Promise<void>;
  /** Told when the run waits on a pause and when it goes on. */
  onStatus?: (status: 'paused' | 'running') => void;
  signal?: AbortSignal;
  control?: TrainControl;
  /** Continue from this checkpoint: parameters and optimizer state are restored into `params`/`optimizer`. */
  resume?: TrainCheckpoint;
}

export interface TrainResult {
  status: 'completed' | 'aborted';
  /** Optimizer steps done. */
  step: number;
  microStep: number;
  rngState: RngState;
  /** Loss of the last completed step, or null if none ran. */
  lastLoss: number | null;
}

const defaultNow = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Whether a checkpoint is due after `step`: every `every` steps, or when the training time since the last
 * checkpoint (`sinceMs`, this step included) would pass `everyMs` before the next step ends — the next
 * step is assumed to take as long as this one (`stepMs`), so a run cut off at any moment has lost at most
 * about `everyMs` of training. No time checkpoint after the last step: the run is about to finish.
 */
export function checkpointDue(p: { step: number; totalSteps: number; every: number; everyMs: number; sinceMs: number; stepMs: number }): boolean {
  if (p.every > 0 && p.step % p.every === 0) return true;
  return p.everyMs > 0 && p.step < p.totalSteps && p.sinceMs + p.stepMs >= p.everyMs;
}

/** Lets other work (worker messages, UI) run between steps. */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function restore(params: ReadonlyMap<string, tf.Variable>, c: TrainCheckpoint, optimizer: Optimizer): void {
  for (const [name, v] of params) {
    const saved = c.params.get(name);
    if (!saved) throw new AppError('adapter-mismatch', `The checkpoint has no values for "${name}"; it belongs to another configuration.`);
    if (saved.shape.length !== v.shape.length || saved.shape.some((d, i) => d !== v.shape[i])) {
      throw new AppError('adapter-mismatch', `Checkpoint tensor "${name}" is [${saved.shape.join(', ')}] but the parameter is [${v.shape.join(', ')}].`);
    }
  }
  for (const name of c.params.keys()) {
    if (!params.has(name)) throw new AppError('adapter-mismatch', `The checkpoint has "${name}", which this run does not train.`);
  }
  optimizer.importState(c.optimizer);
  for (const [name, v] of params) {
    const saved = c.params.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(saved.data, saved.shape)));
  }
}

export async function train<B extends BatchInfo>(o: TrainOptions<B>): Promise<TrainResult> {
  const gradAccum = o.gradAccum ?? 1;
  if (!Number.isInteger(gradAccum) || gradAccum < 1) throw new AppError('bad-input', `Gradient accumulation must be a positive integer, got ${gradAccum}.`);
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 0) throw new AppError('bad-input', `Total steps must be an integer ≥ 0, got ${o.totalSteps}.`);
  const every = o.checkpointEvery ?? 0;
  const everyMs = o.checkpointEveryMs ?? 0;
  if (!(everyMs >= 0)) throw new AppError('bad-input', `The checkpoint interval must be ≥ 0 ms, got ${everyMs}.`);
  const now = o.now ?? defaultNow;
  const { lossFn, gradFn } = o;
  if (!lossFn && !gradFn) throw new AppError('internal', 'The training loop needs a loss function (lossFn or gradFn).');
  const names = [...o.params.keys()];
  const varList = names.map((n) => o.params.get(n)!);
  const nameOf = new Map(varList.map((v, i) => [v.name, names[i]]));

  let step = 0;
  let microStep = 0;
  let rng = Rng.fromSeed(deriveSeed(o.seed ?? 0, 'train-loop'));
  if (o.resume) {
    restore(o.params, o.resume, o.optimizer);
    step = o.resume.step;
    microStep = o.resume.microStep;
    rng = Rng.fromState(o.resume.rngState);
  }
  let lastLoss: number | null = null;
  /** Training time since the last checkpoint (or the start / resume), pauses excluded. */
  let sinceCheckpointMs = 0;
  const result = (status: TrainResult['status']): TrainResult => ({ status, step, microStep, rngState: rng.getState(), lastLoss });

  while (step < o.totalSteps) {
    if (o.control?.paused && !o.signal?.aborted) {
      o.onStatus?.('paused');
      await o.control.waitWhilePaused(o.signal);
      o.onStatus?.('running');
    }
    if (o.signal?.aborted) return result('aborted');
    const t0 = now();

    const micro = Array.from({ length: gradAccum }, (_, k) => o.batches.get(microStep + k));
    const totalWeight = micro.reduce((s, b) => s + b.weight, 0);
    if (!(totalWeight > 0)) throw new AppError('training', `Step ${step + 1} has no positions that take loss; check the training data.`);
    const tokens = micro.reduce((s, b) => s + b.tokens, 0);
    // The RNG state at the start of the step: an abort in the middle rewinds to it.
    const rngAtStart = rng.getState();

    let acc: Map<string, tf.Tensor> | null = null;
    let lossSum: tf.Scalar = tf.scalar(0);
    const disposeAcc = () => {
      if (acc) for (const t of acc.values()) t.dispose();
      lossSum.dispose();
    };
    try {
      for (let k = 0; k < gradAccum; k++) {
        if (k > 0) {
          await yieldToEventLoop();
          if (o.signal?.aborted) {
            disposeAcc();
            rng = Rng.fromState(rngAtStart);
            return result('aborted');
          }
        }
        const share = micro[k].weight / totalWeight;
        const ctx: LossContext = { step, microStep: microStep + k, rng };
        let value: tf.Scalar;
        let grads: Map<string, tf.Tensor>;
        if (gradFn) ({ value, grads } = gradFn(micro[k], ctx));
        else {
          const r = tf.variableGrads(() => lossFn!(micro[k], ctx), varList);
          value = r.value;
          grads = new Map(Object.entries(r.grads).map(([varName, g]) => [nameOf.get(varName)!, g]));
        }
        const prev: Map<string, tf.Tensor> | null = acc;
        const next = new Map<string, tf.Tensor>();
        tf.tidy(() => {
          for (const [name, g] of grads) {
            if (!o.params.has(name)) throw new AppError('internal', `A gradient was given for "${name}", which is not a trained parameter.`);
            const scaled = tf.mul(g, tf.scalar(share));
            const old = prev?.get(name);
            next.set(name, tf.keep(old ? tf.add(old, scaled) : scaled));
          }
          const prevLoss = lossSum;
          lossSum = tf.keep(tf.add(prevLoss, tf.mul(value, tf.scalar(share))));
          prevLoss.dispose();
        });
        if (prev) for (const t of prev.values()) t.dispose();
        acc = next;
        value.dispose();
        tf.dispose([...grads.values()]);
      }
    } catch (e) {
      disposeAcc();
      throw e;
    }

    const accGrads = acc as Map<string, tf.Tensor> | null;
    if (!accGrads || accGrads.size === 0) {
      disposeAcc();
      throw new AppError('training', 'The loss does not depend on any trained parameter; nothing to learn.');
    }
    const { grads: clipped, norm } = clipByGlobalNorm(accGrads, o.clip ?? 0);
    const [lossData, normData] = await Promise.all([lossSum.data(), norm.data()]);
    const loss = lossData[0];
    const gradNorm = normData[0];
    norm.dispose();
    disposeAcc();
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      tf.dispose([...clipped.values()]);
      throw new AppError(
        'training',
        `The loss became ${Number.isFinite(loss) ? 'finite but the gradient is not' : loss} at step ${step + 1}; the adapter is kept as it was after step ${step}. Lower the learning rate or enable gradient clipping.`,
      );
    }
    const lr = o.schedule(step);
    o.optimizer.apply(o.params, clipped, lr);
    tf.dispose([...clipped.values()]);

    step += 1;
    microStep += gradAccum;
    lastLoss = loss;
    const stepMs = now() - t0;
    const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    await o.onStep?.({
      step,
      totalSteps: o.totalSteps,
      epoch: microStep / o.batches.perEpoch,
      loss,
      lr,
      gradNorm,
      tokens,
      stepMs,
      tokensPerSec: stepMs > 0 ? (tokens * 1000) / stepMs : 0,
      memory: { numTensors: mem.numTensors, numBytes: mem.numBytes, ...(mem.numBytesInGPU !== undefined ? { numBytesInGPU: mem.numBytesInGPU } : {}) },
    });
    sinceCheckpointMs += stepMs;
    if (o.onCheckpoint && checkpointDue({ step, totalSteps: o.totalSteps, every, everyMs, sinceMs: sinceCheckpointMs, stepMs })) {
      const c0 = now();
      await o.onCheckpoint(await captureCheckpoint(o.params, o.optimizer, step, microStep, rng));
      sinceCheckpointMs = now() - c0;
    }
    await yieldToEventLoop();
  }
  return result('completed');
}
