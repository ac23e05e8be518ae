/**
 * Scaled dot-product attention for grouped-query heads, over keys/values held in one or more parts (the KV
 * cache keeps a long "past" block and a short "tail"; a full forward pass has one part). Scores of the parts
 * are concatenated before one softmax, so the result is exact and no step copies the whole cache.
 *
 * Query heads are grouped by the key/value head they share: q is [B, nKV, g·T, hD] with g = nH / nKV, so
 * every matmul has equal batch dims [B, nKV] (no broadcast, no repeated keys).
 */
import * as tf from '@tensorflow/tfjs';

export interface KvPart {
  k: tf.Tensor4D; // [B, nKV, S_i, hD]
  v: tf.Tensor4D; // [B, nKV, S_i, hD]
}

/** Additive mask value for a key a query may not see. Finite, so a fully masked row gives no NaN. */
export const MASKED = -1e9;

/**
 * q: [B, nKV, g·T, hD], already multiplied by 1/√hD. mask: [B, 1, T, S] additive (0 or MASKED), S = Σ S_i.
 * Returns [B, nKV, g·T, hD].
 */
export function attend(q: tf.Tensor4D, parts: readonly KvPart[], mask: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [B, nKV, gT] = q.shape;
  const T = gT / groups;
  const pieces = parts.map((p) => tf.matMul(q, p.k, false, true)); // [B, nKV, g·T, S_i]
  const scores = pieces.length === 1 ? pieces[0] : tf.concat(pieces, 3); // [B, nKV, g·T, S]
  const S = scores.shape[3] as number;
  const masked = tf.add(tf.reshape(scores, [B, nKV * groups, T, S]), mask); // [B, nH, T, S]
  const probs = tf.reshape(tf.softmax(masked), [B, nKV, gT, S]);
  if (parts.length === 1) return tf.matMul(probs, parts[0].v); // [B, nKV, g·T, hD]
  const split = tf.split(probs, parts.map((p) => p.k.shape[2]), 3);
  const outs = split.map((p, i) => tf.matMul(p, parts[i].v));
  return (outs.length === 2 ? tf.add(outs[0], outs[1]) : tf.addN(outs)) as tf.Tensor4D;
}
