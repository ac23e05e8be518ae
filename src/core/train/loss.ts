/**
 * Causal language-modelling losses as pure tf functions, computed the way Hugging Face does:
 * logits at position t predict the label at t + 1; positions labelled -100 are skipped; the loss is the mean
 * over all counted positions of the whole batch (not a mean of per-row means).
 *
 * Cross-entropy is one fused, numerically stable op (log-sum-exp minus the picked logit) with a hand-written
 * gradient (softmax − one-hot): its forward pass keeps nothing but the logits for the backward pass, where
 * plain autodiff would keep several [N, V] intermediates. Memory matters here: [N, V] is the largest tensor
 * of a training step. The `*FromHidden` variants go further: they take the final hidden states and the
 * (frozen) LM head and work through the positions in chunks, so no [N, V] tensor exists at all (only
 * [chunk, V]); by default each chunk's gradient with respect to the hidden states is computed with its loss
 * and kept as [chunk, H], so the backward pass neither keeps nor recomputes logits (see HeadLossOptions).
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
    const z = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [b * (t - 1), v]); // [N, V] predicts t+1
    const { safe, mask } = shiftedTargets(labels); // [N], [N]
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

/** Shifted targets and mask of labels [B, T]: safe targets [N] (int32, -100 → 0) and mask [N] (float32). */
function shiftedTargets(labels: tf.Tensor2D): { safe: tf.Tensor1D; mask: tf.Tensor1D } {
  return tf.tidy(() => {
    const [b, t] = labels.shape;
    const target = tf.reshape(tf.slice(tf.cast(labels, 'int32'), [0, 1], [b, t - 1]), [b * (t - 1)]); // [N]
    const keep = tf.notEqual(target, tf.scalar(IGNORE_INDEX, 'int32'));
    return { safe: tf.where(keep, target, tf.zerosLike(target)) as tf.Tensor1D, mask: tf.cast(keep, 'float32') as tf.Tensor1D };
  });
}

/** How the chunked head loss works; see tokenNllFromHidden. */
export interface HeadLossOptions {
  /** Positions per chunk (default 256): memory for logits is [chunkRows, V]. */
  chunkRows?: number;
  /**
   * The head transposed, [V, H], when the caller keeps one (the head is frozen, so it can be made once per
   * run): one tensor, or row blocks [k, H] over consecutive vocabulary ranges. Without it the gradient
   * multiplies by headᵀ through a transposed matmul, which on tfjs-wasm transposes the whole head for every
   * chunk. Blocks of ~512 rows make that product about twice as fast on tfjs-wasm as one product with a
   * 49,152-long inner dimension, which is memory-bound.
   */
  headT?: tf.Tensor2D | readonly tf.Tensor2D[] | null;
  /**
   * 'eager' (default): the gradient with respect to the hidden states is computed together with the loss,
   * chunk by chunk, and kept as [N, H] (softmax and logits are never recomputed); the backward pass only
   * scales its rows. 'lazy': nothing extra in the forward pass; a backward pass recomputes each chunk's
   * logits. Use 'lazy' for values that take no gradient (DPO's reference pass, evaluation).
   */
  grad?: 'eager' | 'lazy';
}

/**
 * One chunk's NLL and (optionally) its gradient factor: z = h·head [c, V], p = softmax(z),
 * nll = (logsumexp(z) − z[target])·w with logsumexp(z) = max(z) − log(max(p)) (exact, and max(p) ≥ 1/V never
 * underflows; it spares tfjs-wasm's slow elementwise exp over [c, V]), and G = w·(p − onehot(target))·headᵀ
 * [c, H], so that d nll / d h = dy·G row by row.
 */
function headChunk(
  h: tf.Tensor2D, // [c, H]
  head: tf.Tensor2D, // [H, V]
  headT: tf.Tensor2D | readonly tf.Tensor2D[] | null, // [V, H], or row blocks [k, H]
  target: tf.Tensor1D, // [c]
  w: tf.Tensor1D, // [c]
  withGrad: boolean,
): { nll: tf.Tensor1D; g: tf.Tensor2D | null } {
  const [c] = h.shape;
  const vocab = head.shape[1];
  const z = tf.matMul(h, head); // [c, V]
  const p = tf.softmax(z); // [c, V]
  const lse = tf.sub(tf.max(z, 1), tf.log(tf.max(p, 1))); // [c]
  const flat = tf.add(tf.mul(tf.range(0, c, 1, 'int32'), tf.scalar(vocab, 'int32')), target); // [c]
  const picked = tf.gather(tf.reshape(z, [c * vocab]), flat); // [c]
  const nll = tf.mul(tf.sub(lse, picked), w) as tf.Tensor1D; // [c]
  if (!withGrad) return { nll, g: null };
  const dz = tf.mul(tf.sub(p, tf.oneHot(target, vocab, 1, 0, 'float32')), tf.expandDims(w, 1)) as tf.Tensor2D; // [c, V]
  if (!headT) return { nll, g: tf.matMul(dz, head, false, true) }; // [c, H]
  if (!Array.isArray(headT)) return { nll, g: tf.matMul(dz, headT as tf.Tensor2D) }; // [c, H]
  let g: tf.Tensor2D | null = null;
  let at = 0;
  for (const block of headT as readonly tf.Tensor2D[]) {
    const k = block.shape[0];
    const part: tf.Tensor2D = tf.matMul(tf.slice(dz, [0, at], [c, k]), block); // [c, k]·[k, H]
    g = g ? (tf.add(g, part) as tf.Tensor2D) : part;
    at += k;
  }
  return { nll, g: g! }; // [c, H]
}

/**
 * Per-row NLL of logits = h·head computed `chunk` rows at a time. h [N, H], target [N], weight [N] → [N].
 * Differentiable in h only: the head is a frozen weight (closed over, not an input), as in LoRA training.
 */
function chunkedHeadNll(head: tf.Tensor2D, chunk: number, headT: tf.Tensor2D | readonly tf.Tensor2D[] | null, eager: boolean) {
  const spans = (n: number) => Array.from({ length: Math.ceil(n / chunk) }, (_, i) => [i * chunk, Math.min(chunk, n - i * chunk)] as const);
  const run = (h: tf.Tensor2D, target: tf.Tensor1D, w: tf.Tensor1D, withGrad: boolean): { nll: tf.Tensor1D; g: tf.Tensor2D | null } => {
    const parts = spans(h.shape[0]).map(([at, size]) =>
      tf.tidy(() => {
        const r = headChunk(tf.slice(h, [at, 0], [size, -1]), head, headT, tf.slice(target, at, size), tf.slice(w, at, size), withGrad);
        return r.g ? [r.nll, r.g] : [r.nll];
      }),
    );
    const join = <T extends tf.Tensor>(xs: T[]): T => (xs.length === 1 ? xs[0] : (tf.concat(xs, 0) as T));
    return { nll: join(parts.map((x) => x[0] as tf.Tensor1D)), g: withGrad ? join(parts.map((x) => x[1] as tf.Tensor2D)) : null };
  };
  return tf.customGrad((hIn, tIn, wIn, save) => {
    const h = hIn as tf.Tensor2D; // [N, H]
    const target = tIn as tf.Tensor1D; // [N]
    const w = wIn as tf.Tensor1D; // [N]
    const { nll, g } = run(h, target, w, eager);
    // Saved tensors are kept only while a gradient tape records this op.
    (save as tf.GradSaveFunc)([g ?? h, target, w]);
    g?.dispose();
    return {
      value: nll,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [first, ts, ws] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const dh = tf.tidy(() => {
          const gs = eager ? first : run(first, ts, ws, true).g!; // [N, H]
          return tf.mul(gs, tf.expandDims(dy, 1)); // [N, H]
        });
        return [dh, tf.zerosLike(ts), tf.zerosLike(ws)];
      },
    };
  });
}

function headOptions(o: number | HeadLossOptions): Required<Pick<HeadLossOptions, 'chunkRows' | 'grad'>> & { headT: tf.Tensor2D | readonly tf.Tensor2D[] | null } {
  const opts = typeof o === 'number' ? { chunkRows: o } : o;
  const chunkRows = opts.chunkRows ?? 256;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, got ${chunkRows}`);
  return { chunkRows, grad: opts.grad ?? 'eager', headT: opts.headT ?? null };
}

/**
 * Like tokenNll, from the final hidden states [B, T, H] and a frozen LM head [H, V] (logits = hidden·head),
 * `chunkRows` positions at a time: memory for logits is [chunkRows, V] instead of [B·T, V]. The last argument
 * is the chunk size or HeadLossOptions.
 */
export function tokenNllFromHidden(
  hidden: tf.Tensor3D,
  head: tf.Tensor2D,
  labels: tf.Tensor2D,
  options: number | HeadLossOptions = 256,
): { nll: tf.Tensor2D; mask: tf.Tensor2D } {
  const o = headOptions(options);
  return tf.tidy(() => {
    const [b, t, hSize] = hidden.shape;
    if (labels.shape[0] !== b || labels.shape[1] !== t) {
      throw new Error(`labels [${labels.shape.join(', ')}] do not match hidden states [${hidden.shape.join(', ')}]`);
    }
    if (head.shape[0] !== hSize) throw new Error(`LM head [${head.shape.join(', ')}] does not take hidden size ${hSize}`);
    if (o.headT) {
      const blocks = Array.isArray(o.headT) ? (o.headT as readonly tf.Tensor2D[]) : [o.headT as tf.Tensor2D];
      const rows = blocks.reduce((n, b) => n + b.shape[0], 0);
      if (rows !== head.shape[1] || blocks.some((b) => b.shape[1] !== hSize)) {
        throw new Error(`headT (${blocks.length} block(s), ${rows} rows) is not the transpose of the head [${head.shape.join(', ')}]`);
      }
    }
    const h = tf.reshape(tf.slice(hidden, [0, 0, 0], [b, t - 1, hSize]), [b * (t - 1), hSize]); // [N, H]
    const { safe, mask } = shiftedTargets(labels);
    const nll = chunkedHeadNll(head, o.chunkRows, o.headT, o.grad === 'eager')(h, safe, mask) as tf.Tensor1D; // [N]
    return { nll: tf.reshape(nll, [b, t - 1]), mask: tf.reshape(mask, [b, t - 1]) };
  });
}

/** causalLmLoss from hidden states and a frozen LM head, in chunks (see tokenNllFromHidden). */
export function causalLmLossFromHidden(hidden: tf.Tensor3D, head: tf.Tensor2D, labels: tf.Tensor2D, options: number | HeadLossOptions = 256): tf.Scalar {
  return tf.tidy(() => {
    const { nll, mask } = tokenNllFromHidden(hidden, head, labels, options);
    return tf.div(tf.sum(nll), tf.sum(mask));
  });
}

/** sequenceLogProbs from hidden states and a frozen LM head, in chunks. → [B] */
export function sequenceLogProbsFromHidden(hidden: tf.Tensor3D, head: tf.Tensor2D, labels: tf.Tensor2D, options: number | HeadLossOptions = 256): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum(tokenNllFromHidden(hidden, head, labels, options).nll, 1)));
}
