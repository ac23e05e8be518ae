/**
 * Causal language-modelling losses as pure tf functions, computed the way Hugging Face does:
 * logits at position t predict the label at t + 1; positions labelled -100 are skipped; the loss is the mean
 * over all counted positions of the whole batch (not a mean of per-row means).
 *
 * Cross-entropy is one fused, numerically stable op (log-sum-exp minus the picked logit) with a hand-written
 * gradient (softmax − one-hot): its forward pass keeps nothing but the logits for the backward pass, where
 * plain autodiff would keep several [N, V] intermediates. Memory matters here: [N, V] is the largest tensor
 * of a training step.
 */
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from './data-types.ts';

/**
 * Per-row negative log-likelihood: nll[n] = logsumexp(z[n]) − z[n, target[n]], times weight[n].
 * z [N, V] float32, safeTarget [N] int32 (valid ids), weight [N] float32 (0 or 1). Differentiable in z.
 */
const weightedNll = tf.customGrad((z, safeTarget, weight, save) => {
  const logits = z as tf.Tensor2D; // [N, V]
  const target = safeTarget as tf.Tensor1D; // [N]
  const w = weight as tf.Tensor1D; // [N]
  (save as tf.GradSaveFunc)([logits, target, w]);
  const [n, v] = logits.shape;
  const value = tf.tidy(() => {
    const lse = tf.logSumExp(logits, 1); // [N]
    const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), target); // [N]
    const picked = tf.gather(tf.reshape(logits, [n * v]), flatIndex); // [N]
    return tf.mul(tf.sub(lse, picked), w); // [N]
  });
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [zs, ts, ws] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
      const [, vocab] = zs.shape;
      const dz = tf.tidy(() => {
        const scale = tf.expandDims(tf.mul(dy, ws), 1); // [N, 1]
        const oneHot = tf.oneHot(ts, vocab, 1, 0, 'float32'); // [N, V]
        return tf.mul(tf.sub(tf.softmax(zs), oneHot), scale); // [N, V]
      });
      return [dz, tf.zerosLike(ts), tf.zerosLike(ws)];
    },
  };
});

/**
 * Shifted per-position negative log-likelihoods and their mask.
 * logits [B, T, V], labels [B, T] int32 → nll [B, T−1] (0 where skipped), mask [B, T−1] (1 = counted).
 */
export function tokenNll(logits: tf.Tensor3D, labels: tf.Tensor2D): { nll: tf.Tensor2D; mask: tf.Tensor2D } {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    if (labels.shape[0] !== b || labels.shape[1] !== t) {
      throw new Error(`labels [${labels.shape.join(', ')}] do not match logits [${logits.shape.join(', ')}]`);
    }
    const n = b * (t - 1);
    const z = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [n, v]); // [N, V] predicts t+1
    const target = tf.reshape(tf.slice(tf.cast(labels, 'int32'), [0, 1], [b, t - 1]), [n]); // [N]
    const keep = tf.notEqual(target, tf.scalar(IGNORE_INDEX, 'int32')); // [N] bool
    const safe = tf.where(keep, target, tf.zerosLike(target)); // [N]
    const mask = tf.cast(keep, 'float32'); // [N]
    const nll = weightedNll(z, safe, mask) as tf.Tensor1D; // [N]
    return { nll: tf.reshape(nll, [b, t - 1]), mask: tf.reshape(mask, [b, t - 1]) };
  });
}

/** Sum of the NLL over counted positions, and how many positions were counted (both scalars). */
export function causalLmLossParts(logits: tf.Tensor3D, labels: tf.Tensor2D): { sum: tf.Scalar; count: tf.Scalar } {
  return tf.tidy(() => {
    const { nll, mask } = tokenNll(logits, labels);
    return { sum: tf.sum(nll), count: tf.sum(mask) };
  });
}

/**
 * Hugging Face's causal-LM loss: mean next-token cross-entropy over every counted position of the batch.
 * logits [B, T, V], labels [B, T] (-100 = skip) → scalar. NaN if no position is counted, as in PyTorch.
 */
export function causalLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const { sum, count } = causalLmLossParts(logits, labels);
    return tf.div(sum, count);
  });
}

/**
 * Log-probability of each sequence's labelled tokens, summed (DPO's log π(y|x)).
 * logits [B, T, V], labels [B, T] → [B].
 */
export function sequenceLogProbs(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum(tokenNll(logits, labels).nll, 1)));
}
