/**
 * Training objectives over a model seen only as a LogitsFn, so that they can be tested on a toy model and
 * used unchanged with the real forward pass: SFT (causal-LM loss on the labelled tokens) and DPO (the
 * reference log-probabilities come from the model's reference pass, `adapter: false`, computed without
 * recording a gradient tape; optionally RPO's NLL term on the chosen answers).
 */
import * as tf from '@tensorflow/tfjs';
import type { PreferenceBatch, TokenBatch } from './batches.ts';
import { DEFAULT_DPO_BETA, dpoRpoLoss } from './dpo.ts';
import { causalLmLoss, causalLmLossFromHidden, sequenceLogProbs, sequenceLogProbsFromHidden, type HeadLossOptions } from './loss.ts';
import type { LossFn } from './loop.ts';

export interface ForwardOptions {
  /**
   * Apply the LoRA adapter being trained. false = DPO's reference, frozen: the adapter training started from
   * (πref = the SFT model, as in the DPO paper), or the base model for a fresh adapter.
   */
  adapter: boolean;
  /** Training mode: dropout active. */
  training: boolean;
  /** Seed for this pass's dropout masks (drawn from the loop's RNG). */
  seed?: number;
}

/** Token ids [B, T] (int32) → next-token logits [B, T, V]. */
export type LogitsFn = (inputIds: tf.Tensor2D, options: ForwardOptions) => tf.Tensor3D;

/**
 * The model as final hidden states [B, T, H] plus its frozen LM head [H, V] (logits = hidden·head). With this
 * view the loss never builds the [B·T, V] logits: it works through `chunkRows` positions at a time.
 */
export interface HiddenModel {
  hidden: (inputIds: tf.Tensor2D, options: ForwardOptions) => tf.Tensor3D;
  head: tf.Tensor2D;
  /** The head transposed [V, H] (or its row blocks), if the caller keeps it: a faster gradient on tfjs-wasm (see HeadLossOptions). */
  headT?: tf.Tensor2D | readonly tf.Tensor2D[] | null;
  /** Positions per chunk (default 256). */
  chunkRows?: number;
}

/** Either view of a model. */
export type ModelView = LogitsFn | HiddenModel;

/** Head-loss options for a pass: the gradient is computed with the loss only where one will be taken. */
function headLoss(m: HiddenModel, o: ForwardOptions): HeadLossOptions {
  return { chunkRows: m.chunkRows, headT: m.headT ?? null, grad: o.adapter ? 'eager' : 'lazy' };
}

function meanLoss(m: ModelView, ids: tf.Tensor2D, labels: tf.Tensor2D, o: ForwardOptions): tf.Scalar {
  return typeof m === 'function' ? causalLmLoss(m(ids, o), labels) : causalLmLossFromHidden(m.hidden(ids, o), m.head, labels, headLoss(m, o));
}

function seqLogProbs(m: ModelView, ids: tf.Tensor2D, labels: tf.Tensor2D, o: ForwardOptions): tf.Tensor1D {
  return typeof m === 'function' ? sequenceLogProbs(m(ids, o), labels) : sequenceLogProbsFromHidden(m.hidden(ids, o), m.head, labels, headLoss(m, o));
}

function batchTensors(batch: TokenBatch): { ids: tf.Tensor2D; labels: tf.Tensor2D } {
  return {
    ids: tf.tensor2d(batch.inputIds, [batch.rows, batch.seqLen], 'int32'), // [B, T]
    labels: tf.tensor2d(batch.labels, [batch.rows, batch.seqLen], 'int32'), // [B, T]
  };
}

/** SFT: mean cross-entropy over the batch's labelled positions. */
export function sftLossFn(model: ModelView): LossFn<TokenBatch> {
  return (batch, ctx) =>
    tf.tidy(() => {
      const { ids, labels } = batchTensors(batch);
      return meanLoss(model, ids, labels, { adapter: true, training: true, seed: ctx.rng.nextUint32() });
    });
}

/**
 * Runs `f` without recording it on an active gradient tape (like torch.no_grad): tfjs does not record
 * kernels run inside a custom-gradient forward pass, and this one declares a zero gradient.
 */
export function withoutGradient<T extends tf.Tensor>(anchor: tf.Tensor, f: () => T): T {
  const op = tf.customGrad((x) => ({
    value: f(),
    gradFunc: () => tf.zerosLike(x as tf.Tensor),
  }));
  return op(anchor) as T;
}

/** Sees each DPO micro-batch's summed completion log-probabilities [2P] under the policy and the reference (borrowed: keep or read them before the batch's tidy ends). */
export type DpoLogpsSink = (policy: tf.Tensor1D, reference: tf.Tensor1D, pairs: number) => void;

export interface DpoObjective {
  beta?: number;
  /** Weight of RPO's NLL term on the chosen answers (0 or absent = plain DPO). */
  rpoAlpha?: number;
  onLogps?: DpoLogpsSink;
}

/** DPO: chosen rows [0, P), rejected rows [P, 2P) of one batch; reference = the model's reference pass. */
export function dpoLossFn(model: ModelView, objective: number | DpoObjective = DEFAULT_DPO_BETA): LossFn<PreferenceBatch> {
  const o = typeof objective === 'number' ? { beta: objective } : objective;
  const beta = o.beta ?? DEFAULT_DPO_BETA;
  return (batch, ctx) =>
    tf.tidy(() => {
      const { ids, labels } = batchTensors(batch);
      const ref = withoutGradient(ids, () => seqLogProbs(model, ids, labels, { adapter: false, training: false })); // [2P]
      const policy = seqLogProbs(model, ids, labels, { adapter: true, training: true, seed: ctx.rng.nextUint32() }); // [2P]
      o.onLogps?.(policy, ref, batch.pairs);
      return dpoRpoLoss(policy, ref, batch.pairs, beta, o.rpoAlpha ?? 0, batch.chosenTokens);
    });
}
