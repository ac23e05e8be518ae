/**
 * Scaled dot-product attention for grouped-query heads, over keys/values held in one or more parts (the KV
 * cache keeps a long "past" block and a short "tail"; a full forward pass has one part). Scores of the parts
 * are concatenated before one softmax, so the result is exact and no step copies the whole cache.
 *
 * Query heads are grouped by the key/value head they share: q is [B, nKV, g·T, hD] with g = nH / nKV.
 *
 * Two layouts for a part:
 *  - batched [B, nKV, S, hD]: one batched matmul per product. tfjs-wasm runs batched matmuls on a plain loop,
 *    fine for a short part (the cache's tail during decoding);
 *  - split: one 2-D tensor per (row, kv head), keys transposed [hD, S] and values [S, hD]. 2-D products go
 *    through XNNPACK, several times faster, and XNNPACK keeps the packed right-hand side per tensor, so a
 *    long-lived past block is packed once and reused by every decode step.
 * Both are differentiable (2-D matmul, unstack/stack, transpose, concat, softmax).
 */
import * as tf from '@tensorflow/tfjs';

export interface BatchedKv {
  kind: 'batched';
  k: tf.Tensor4D; // [B, nKV, S, hD]
  v: tf.Tensor4D; // [B, nKV, S, hD]
}

export interface SplitKv {
  kind: 'split';
  /** Index b·nKV + j: keys of row b, kv head j, transposed: [hD, S]. */
  keysT: tf.Tensor2D[];
  /** Index b·nKV + j: [S, hD]. */
  values: tf.Tensor2D[];
  length: number;
}

export type KvPart = BatchedKv | SplitKv;

/** Additive mask value for a key a query may not see. Finite, so a fully masked row gives no NaN. */
export const MASKED = -1e9;

/** Performance knob: parts with at least this many keys use the split layout. */
export const attentionTuning = { splitMinKeys: 32 };

export function partLength(p: KvPart): number {
  return p.kind === 'batched' ? (p.k.shape[2] as number) : p.length;
}

/** Batched [B, nKV, S, hD] keys/values → the split layout. */
export function splitKv(k: tf.Tensor4D, v: tf.Tensor4D): SplitKv {
  const [B, nKV, S, hD] = k.shape;
  const keysT = tf.unstack(tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [B * nKV, hD, S])) as tf.Tensor2D[];
  const values = tf.unstack(tf.reshape(v, [B * nKV, S, hD])) as tf.Tensor2D[];
  return { kind: 'split', keysT, values, length: S };
}

/** The layout a freshly computed part of S keys should take. */
export function newPart(k: tf.Tensor4D, v: tf.Tensor4D): KvPart {
  return (k.shape[2] as number) >= attentionTuning.splitMinKeys ? splitKv(k, v) : { kind: 'batched', k, v };
}

/**
 * q: [B, nKV, g·T, hD], already multiplied by 1/√hD. mask: [B, 1, T, S] additive (0 or MASKED), S = Σ S_i.
 * Returns [B, nKV, g·T, hD].
 */
export function attend(q: tf.Tensor4D, parts: readonly KvPart[], mask: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [B, nKV, gT, hD] = q.shape;
  const T = gT / groups;
  // Query pieces per (row, kv head), only when a split part needs them: [g·T, hD] each.
  let pieces: tf.Tensor2D[] | null = null;
  const queryPieces = (): tf.Tensor2D[] => (pieces ??= tf.unstack(tf.reshape(q, [B * nKV, gT, hD])) as tf.Tensor2D[]);

  const scores = parts.map((p) => {
    if (p.kind === 'batched') return tf.matMul(q, p.k, false, true); // [B, nKV, g·T, S_i]
    const qs = queryPieces();
    return tf.reshape(tf.stack(qs.map((qi, i) => tf.matMul(qi, p.keysT[i]))), [B, nKV, gT, p.length]);
  });
  const all = scores.length === 1 ? scores[0] : tf.concat(scores, 3); // [B, nKV, g·T, S]
  const S = all.shape[3] as number;
  const probs = tf.reshape(tf.softmax(tf.add(tf.reshape(all, [B, nKV * groups, T, S]), mask)), [B, nKV, gT, S]);
  const perPart = parts.length === 1 ? [probs] : tf.split(probs, parts.map(partLength), 3);
  const outs = parts.map((p, i) => {
    if (p.kind === 'batched') return tf.matMul(perPart[i], p.v); // [B, nKV, g·T, hD]
    const ps = tf.unstack(tf.reshape(perPart[i], [B * nKV, gT, p.length])) as tf.Tensor2D[];
    return tf.reshape(tf.stack(ps.map((pi, j) => tf.matMul(pi, p.values[j]))), [B, nKV, gT, hD]);
  });
  return (outs.length === 1 ? outs[0] : outs.length === 2 ? tf.add(outs[0], outs[1]) : tf.addN(outs)) as tf.Tensor4D;
}
