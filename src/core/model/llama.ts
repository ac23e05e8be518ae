/**
 * The Llama-family decoder (llama, qwen2, qwen3) on tfjs, computing what Hugging Face's modeling code computes.
 *
 *   x = embed(ids)                                         // [N, H], N = B·T
 *   per layer:  x += o_proj(attention(rope(q), rope(k), v))  on rms_norm(x)
 *               x += down_proj(silu(gate_proj(h)) · up_proj(h)),  h = rms_norm(x)
 *   logits = rms_norm(x) · lm_head                         // [N, V]
 *
 * Every op used has a gradient in tfjs 4.22 and activations are 2-D before they meet a weight, so `forward` is
 * differentiable with respect to every base weight (pass tf.Variables in ModelWeights) and to whatever wraps
 * the projections (`linears`, linear.ts: an adapter such as LoRA, which this file knows nothing about).
 * `forwardCached` is the generation path: new tokens only, keys/values kept in a KvCache, LM head on the
 * last position only.
 */
import * as tf from '@tensorflow/tfjs';
import { MASKED, attend, newPart } from './attention.ts';
import type { KvCache } from './kv-cache.ts';
import { denseLinear, type Linears } from './linear.ts';
import { applyRope, ropeInverseFrequencies, ropeTables, rotateHalfMatrix } from './rope.ts';
import type { ModelConfig, Projection } from './types.ts';
import { requireF32, type LayerWeights, type ModelWeights } from './weights.ts';

export interface LlamaModel {
  config: ModelConfig;
  weights: ModelWeights;
}

export interface ForwardOptions {
  /** Wraps the projections (an adapter: see linear.ts); null/undefined = the base model. */
  linears?: Linears | null;
  /**
   * [B][T]: 1 for a real token, 0 for padding. Omit when rows are unpadded or right-padded (causal attention
   * alone keeps padding at the end from touching real positions). Needed for left padding: padded keys are
   * masked and RoPE positions count real tokens only.
   */
  attentionMask?: ReadonlyArray<ArrayLike<number>> | null;
}

/** Everything a pass needs besides the weights. */
interface PassContext {
  B: number;
  T: number;
  cos: tf.Tensor3D; // [N, 1, hD]
  sin: tf.Tensor3D; // [N, 1, hD]
  rotation: tf.Tensor2D; // [hD, hD]
  mask: tf.Tensor4D; // [B, 1, T, S]
  linears: Linears | null;
  cache: KvCache | null;
}

/** Final hidden states after the last norm, [B, T, H]. The loss may apply `lmHead` to these in chunks. */
export function forwardHidden(model: LlamaModel, inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
  requireF32(model.weights, 'The tfjs forward pass');
  return tf.tidy(() => {
    const [B, T] = inputIds.shape;
    const mask = opts.attentionMask ?? null;
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let p = 0;
      for (let t = 0; t < T; t++) positions[b * T + t] = !mask || mask[b][t] ? p++ : 0;
    }
    const ctx = passContext(model.config, B, T, positions, causalMask(B, T, mask));
    ctx.linears = opts.linears ?? null;
    return tf.reshape(decoder(model, inputIds, ctx), [B, T, model.config.hiddenSize]);
  });
}

/** Logits [B, T, V] for a batch of token ids [B, T] (int32). */
export function forward(model: LlamaModel, inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T] = inputIds.shape;
    const hidden = forwardHidden(model, inputIds, opts);
    return tf.reshape(lmHead(model, tf.reshape(hidden, [B * T, model.config.hiddenSize])), [B, T, model.config.vocabSize]);
  });
}

/** hidden [N, H] → logits [N, V] (the tied embedding when there is no separate head). */
export function lmHead(model: LlamaModel, hidden: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(hidden, model.weights.lmHead ?? model.weights.embedding);
}

/**
 * Generation step: feeds T new tokens per row [B, T] through the cache and returns the logits of each row's
 * last position [B, V]. `newReal` marks left padding (prefill of a batch). Commits the cache on success.
 */
export function forwardCached(
  model: LlamaModel,
  cache: KvCache,
  inputIds: tf.Tensor2D,
  opts: { linears?: Linears | null; newReal?: ReadonlyArray<ArrayLike<number>> } = {},
): tf.Tensor2D {
  requireF32(model.weights, 'The tfjs forward pass');
  const [B, T] = inputIds.shape;
  const H = model.config.hiddenSize;
  try {
    const logits = tf.tidy(() => {
      const plan = cache.beginStep(T, opts.newReal);
      const ctx = passContext(model.config, B, T, plan.positions, plan.mask);
      ctx.linears = opts.linears ?? null;
      ctx.cache = cache;
      const hidden = tf.reshape(decoder(model, inputIds, ctx), [B, T, H]);
      const last = tf.reshape(tf.slice(hidden, [0, T - 1, 0], [B, 1, H]), [B, H]) as tf.Tensor2D; // [B, H]
      return lmHead(model, last); // [B, V]
    });
    cache.commit();
    return logits;
  } catch (e) {
    cache.rollback();
    throw e;
  }
}

/**
 * A forward pass taken one layer at a time, for gradient checkpointing (train/checkpointed-grads.ts): the caller
 * keeps what it wants between layers and may run a layer again, under a gradient tape, with the projection
 * wrappers it passes (made inside the call from the tensors being differentiated, so their gradients flow).
 */
export interface LayerPass {
  readonly B: number;
  readonly T: number;
  /** Token vectors [N, H] (frozen embedding). */
  embed(): tf.Tensor2D;
  /** Layer `li` on x [N, H], its projections wrapped by `linears` (or not) → [N, H]. */
  layer(li: number, x: tf.Tensor2D, linears: Linears | null): tf.Tensor2D;
  /** The final norm: [N, H] → hidden states [B, T, H]. */
  finish(x: tf.Tensor2D): tf.Tensor3D;
  /** Frees the pass's tables (RoPE, mask). */
  dispose(): void;
}

export function layerPass(
  model: LlamaModel,
  inputIds: tf.Tensor2D,
  opts: { attentionMask?: ReadonlyArray<ArrayLike<number>> | null } = {},
): LayerPass {
  const { config: c, weights: w } = model;
  requireF32(w, 'Training');
  const [B, T] = inputIds.shape;
  const mask = opts.attentionMask ?? null;
  const positions = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let p = 0;
    for (let t = 0; t < T; t++) positions[b * T + t] = !mask || mask[b][t] ? p++ : 0;
  }
  const ctx = passContext(c, B, T, positions, causalMask(B, T, mask)); // plain tensors, freed by dispose()
  return {
    B,
    T,
    embed: () => tf.tidy(() => embed(w.embedding, tf.reshape(inputIds, [B * T]), c.vocabSize)),
    layer: (li, x, linears) => tf.tidy(() => decoderLayer(c, w.layers[li], li, x, { ...ctx, linears })),
    finish: (x) => tf.tidy(() => tf.reshape(rmsNorm(x, w.finalNorm, c.rmsNormEps), [B, T, c.hiddenSize]) as tf.Tensor3D),
    dispose: () => tf.dispose([ctx.cos, ctx.sin, ctx.rotation, ctx.mask]),
  };
}

const inverseFrequencies = new WeakMap<ModelConfig, Float64Array>();

function passContext(c: ModelConfig, B: number, T: number, positions: Int32Array, mask: tf.Tensor4D): PassContext {
  let inv = inverseFrequencies.get(c);
  if (!inv) inverseFrequencies.set(c, (inv = ropeInverseFrequencies(c)));
  const { cos, sin } = ropeTables(inv, positions);
  return { B, T, cos, sin, rotation: rotateHalfMatrix(c.headDim), mask, linears: null, cache: null };
}

/** [B, 1, T, T]: causal, and padded keys hidden when a padding mask is given. */
function causalMask(B: number, T: number, real: ReadonlyArray<ArrayLike<number>> | null): tf.Tensor4D {
  const m = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < T; s++) m[(b * T + t) * T + s] = s <= t && (!real || real[b][s]) ? 0 : MASKED;
    }
  }
  return tf.tensor4d(m, [B, 1, T, T]);
}

/** Embedding → layers → final norm: [N, H]. */
function decoder(model: LlamaModel, inputIds: tf.Tensor2D, ctx: PassContext): tf.Tensor2D {
  const { config: c, weights: w } = model;
  let x = embed(w.embedding, tf.reshape(inputIds, [ctx.B * ctx.T]), c.vocabSize); // [N, H]
  // One scope per layer: a layer's intermediates are freed before the next layer runs (tensors that a
  // gradient needs are kept by tfjs itself), so peak memory is one layer's activations, not all of them.
  for (let li = 0; li < c.numLayers; li++) {
    const input = x;
    x = tf.tidy(() => decoderLayer(c, w.layers[li], li, input, ctx));
  }
  return rmsNorm(x, w.finalNorm, c.rmsNormEps);
}

/**
 * Token vectors [N, H] from the embedding [H, V]: a column gather. Gather's gradient needs the
 * UnsortedSegmentSum kernel, which tfjs-wasm lacks; when the embedding is being trained (a trainable Variable)
 * on such a backend, the lookup is a one-hot matmul instead (same numbers, differentiable everywhere).
 */
function embed(embedding: tf.Tensor2D, ids: tf.Tensor1D, vocab: number): tf.Tensor2D {
  const trainable = embedding instanceof tf.Variable && embedding.trainable;
  if (trainable && !tf.getKernel('UnsortedSegmentSum', tf.getBackend())) {
    return tf.matMul(tf.cast(tf.oneHot(ids, vocab), 'float32'), embedding, false, true); // [N, V]·[V, H]
  }
  return tf.transpose(tf.gather(embedding, ids, 1)); // [H, N] → [N, H]
}

function decoderLayer(c: ModelConfig, l: LayerWeights, li: number, x: tf.Tensor2D, ctx: PassContext): tf.Tensor2D {
  const project = (input: tf.Tensor2D, proj: Projection, w: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D => {
    const base = denseLinear(w, bias);
    return (ctx.linears ? ctx.linears.wrap(base, li, proj) : base)(input);
  };

  const h = rmsNorm(x, l.inputNorm, c.rmsNormEps); // [N, H]
  const q = project(h, 'q_proj', l.q, l.qBias); // [N, nH·hD]
  const k = project(h, 'k_proj', l.k, l.kBias); // [N, nKV·hD]
  const v = project(h, 'v_proj', l.v, l.vBias); // [N, nKV·hD]
  const attn = selfAttention(c, l, li, q, k, v, ctx); // [N, nH·hD]
  x = tf.add(x, project(attn, 'o_proj', l.o, l.oBias)) as tf.Tensor2D;

  const h2 = rmsNorm(x, l.postAttentionNorm, c.rmsNormEps); // [N, H]
  const gate = project(h2, 'gate_proj', l.gate, null); // [N, I]
  const up = project(h2, 'up_proj', l.up, null); // [N, I]
  const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D; // silu(gate) · up
  return tf.add(x, project(act, 'down_proj', l.down, null));
}

function selfAttention(
  c: ModelConfig,
  l: LayerWeights,
  li: number,
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  ctx: PassContext,
): tf.Tensor2D {
  const { B, T } = ctx;
  const N = B * T;
  const hD = c.headDim;
  const nH = c.numHeads;
  const nKV = c.numKvHeads;
  const g = nH / nKV;
  let q3 = tf.reshape(q, [N, nH, hD]) as tf.Tensor3D;
  let k3 = tf.reshape(k, [N, nKV, hD]) as tf.Tensor3D;
  if (l.qNorm) q3 = rmsNorm(q3, l.qNorm, c.rmsNormEps);
  if (l.kNorm) k3 = rmsNorm(k3, l.kNorm, c.rmsNormEps);
  q3 = tf.mul(applyRope(q3, ctx.cos, ctx.sin, ctx.rotation), 1 / Math.sqrt(hD)) as tf.Tensor3D;
  k3 = applyRope(k3, ctx.cos, ctx.sin, ctx.rotation);
  // Query head h = j·g + i uses key/value head j: group queries by j.
  const q4 = tf.reshape(tf.transpose(tf.reshape(q3, [B, T, nKV, g, hD]), [0, 2, 3, 1, 4]), [B, nKV, g * T, hD]) as tf.Tensor4D;
  const k4 = tf.transpose(tf.reshape(k3, [B, T, nKV, hD]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, nKV, T, hD]
  const v4 = tf.transpose(tf.reshape(v, [B, T, nKV, hD]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, nKV, T, hD]
  const parts = ctx.cache ? ctx.cache.extend(li, k4, v4) : [newPart(k4, v4)];
  const out = attend(q4, parts, ctx.mask, g); // [B, nKV, g·T, hD]
  return tf.reshape(tf.transpose(tf.reshape(out, [B, nKV, g, T, hD]), [0, 3, 1, 2, 4]), [N, nH * hD]) as tf.Tensor2D;
}

/** RMSNorm over the last axis: x / √(mean(x²) + eps) · w. */
function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), w) as T;
}
