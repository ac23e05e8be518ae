/**
 * Direct Preference Optimization (Rafailov et al. 2023), as TRL's DPOTrainer computes it with the default
 * sigmoid loss:  loss = −log σ(β · ((log πθ(yc|x) − log πθ(yr|x)) − (log πref(yc|x) − log πref(yr|x)))),
 * averaged over pairs. The reference is the same model with the adapter switched off. Rewards are
 * β · (log πθ − log πref) for the chosen and the rejected answer (no gradient flows through them).
 */
import * as tf from '@tensorflow/tfjs';

export const DEFAULT_DPO_BETA = 0.1;

export interface DpoOutput {
  /** Mean loss over pairs (differentiable). */
  loss: tf.Scalar;
  /** β · (log πθ(yc) − log πref(yc)), [P]. */
  chosenRewards: tf.Tensor1D;
  /** β · (log πθ(yr) − log πref(yr)), [P]. */
  rejectedRewards: tf.Tensor1D;
}

/** All inputs are [P] sequence log-probabilities (summed over completion tokens). */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  beta = DEFAULT_DPO_BETA,
): DpoOutput {
  if (!(beta > 0)) throw new RangeError(`DPO beta must be positive, got ${beta}`);
  return tf.tidy(() => {
    const logits = tf.sub(tf.sub(policyChosen, policyRejected), tf.sub(refChosen, refRejected)); // [P]
    // −log σ(x) = softplus(−x). (tf.logSigmoid's gradient closes over its input instead of saving it, so it
    // breaks when the input was made inside a tidy; softplus saves what its gradient needs.)
    const losses = tf.softplus(tf.neg(tf.mul(tf.scalar(beta), logits))); // [P]
    const loss = tf.mean(losses) as tf.Scalar;
    const chosenRewards = tf.mul(tf.scalar(beta), tf.sub(policyChosen, refChosen)) as tf.Tensor1D;
    const rejectedRewards = tf.mul(tf.scalar(beta), tf.sub(policyRejected, refRejected)) as tf.Tensor1D;
    return { loss, chosenRewards, rejectedRewards };
  });
}

export interface DpoMetrics {
  loss: number;
  /** Fraction of pairs whose chosen reward exceeds the rejected one. */
  accuracy: number;
  /** Mean (chosen reward − rejected reward). */
  margin: number;
  chosenReward: number;
  rejectedReward: number;
}

/** Reads a DpoOutput into numbers (TRL's rewards/accuracies, rewards/margins, …). Does not dispose it. */
export async function dpoMetrics(out: DpoOutput): Promise<DpoMetrics> {
  const [loss, c, r] = await Promise.all([out.loss.data(), out.chosenRewards.data(), out.rejectedRewards.data()]);
  let acc = 0;
  let margin = 0;
  let cs = 0;
  let rs = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] > r[i]) acc++;
    margin += c[i] - r[i];
    cs += c[i];
    rs += r[i];
  }
  const n = c.length || 1;
  return { loss: loss[0], accuracy: acc / n, margin: margin / n, chosenReward: cs / n, rejectedReward: rs / n };
}
