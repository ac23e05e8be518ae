/**
 * Direct Preference Optimization (Rafailov et al. 2023), as TRL's DPOTrainer computes it with the default
 * sigmoid loss:  loss = −log σ(β · ((log πθ(yc|x) − log πθ(yr|x)) − (log πref(yc|x) − log πref(yr|x)))),
 * averaged over pairs. The reference is the frozen adapter training started from (the SFT model in SRT), or the
 * base model for a fresh adapter: see objectives.ts and engine/tfjs/train-run.ts. Rewards are
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

/**
 * What a DPO step saw, as TRL logs it (logps/chosen, logps/rejected, rewards/margins, rewards/accuracies), plus
 * the reference's log-probabilities: means over the step's pairs of the summed completion log-probabilities.
 */
export interface DpoStepStats {
  pairs: number;
  /** Mean β·((πc − πr) − (refc − refr)); 0 at the start, when the policy is the reference. */
  margin: number;
  /** Share of pairs whose chosen reward exceeds the rejected one. */
  accuracy: number;
  policyChosen: number;
  policyRejected: number;
  refChosen: number;
  refRejected: number;
}

/** Stats of pairs from summed log-probabilities [2P] (chosen rows [0, P), rejected rows [P, 2P)), one entry per micro-batch. */
export function dpoStepStats(parts: readonly { policy: ArrayLike<number>; reference: ArrayLike<number>; pairs: number }[], beta: number): DpoStepStats {
  const s = { pairs: 0, margin: 0, accuracy: 0, policyChosen: 0, policyRejected: 0, refChosen: 0, refRejected: 0 };
  for (const { policy, reference, pairs: p } of parts) {
    for (let i = 0; i < p; i++) {
      const [pc, pr, rc, rr] = [policy[i], policy[p + i], reference[i], reference[p + i]];
      const m = beta * (pc - rc - (pr - rr));
      s.margin += m;
      if (m > 0) s.accuracy++;
      s.policyChosen += pc;
      s.policyRejected += pr;
      s.refChosen += rc;
      s.refRejected += rr;
    }
    s.pairs += p;
  }
  const n = s.pairs || 1;
  return { pairs: s.pairs, margin: s.margin / n, accuracy: s.accuracy / n, policyChosen: s.policyChosen / n, policyRejected: s.policyRejected / n, refChosen: s.refChosen / n, refRejected: s.refRejected / n };
}

/** One line for people: `margin 0.12, chosen log p −10.3 (ref −10.5), rejected −14.2 (ref −13.9), 63% preferred`. */
export function dpoStatsText(s: DpoStepStats): string {
  const f = (x: number) => x.toFixed(2).replace('-', '−');
  return `margin ${f(s.margin)}, chosen log p ${f(s.policyChosen)} (ref ${f(s.refChosen)}), rejected ${f(s.policyRejected)} (ref ${f(s.refRejected)}), ${Math.round(100 * s.accuracy)}% preferred`;
}

/**
 * DPO's loss plus RPO's NLL term on the chosen answers (Pang et al. 2024; TRL's `rpo_alpha`):
 * dpo + α · (−Σ log πθ(yc|x) / chosen tokens), the chosen answers' mean per-token NLL. policy, reference [2P].
 */
export function dpoRpoLoss(policy: tf.Tensor1D, reference: tf.Tensor1D, pairs: number, beta: number, rpoAlpha: number, chosenTokens: number): tf.Scalar {
  return tf.tidy(() => {
    const chosen = tf.slice(policy, 0, pairs); // [P]
    const dpo = dpoLoss(chosen, tf.slice(policy, pairs, pairs), tf.slice(reference, 0, pairs), tf.slice(reference, pairs, pairs), beta).loss;
    if (!(rpoAlpha > 0)) return dpo;
    const nll = tf.div(tf.neg(tf.sum(chosen)), tf.scalar(Math.max(1, chosenTokens))); // mean NLL per chosen token
    return tf.add(dpo, tf.mul(tf.scalar(rpoAlpha), nll)) as tf.Scalar;
  });
}
