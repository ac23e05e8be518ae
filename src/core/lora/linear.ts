/**
 * LoRA as a wrapper of a linear layer (the shape of mlx-lm's `LoRALinear.from_linear`):
 *   y = base(x) + scaling · (dropout(x)·Aᵀ)·Bᵀ,   A [r, in] and B [out, r] as PEFT stores them.
 * An adapter becomes the model's `Linears` (src/core/model/linear.ts): every projection it adapts is wrapped,
 * the others are left as they are. Works with plain tensors and tf.Variables, and is differentiable with
 * respect to A and B.
 */
import * as tf from '@tensorflow/tfjs';
import type { Linear, Linears } from '../model/linear.ts';
import { PROJECTIONS, modulePath, type Projection } from '../model/types.ts';
import type { LoraWeights } from './types.ts';

/** A and B arranged for `x · Aᵀ · Bᵀ` without transposed matmuls of the activations (slow on tfjs-wasm). */
export interface PreparedPair {
  /** [in, r]; null in training mode (see `a`). */
  aT: tf.Tensor2D | null;
  bT: tf.Tensor2D; // [r, out]
  /**
   * Training: A itself [r, in], used as x·Aᵀ (a transposed matmul of a tiny operand) so that A's gradient is
   * dlowᵀ·x, [r, N]·[N, in], rather than xᵀ·dlow, which transposes the activations and multiplies into only r
   * columns (about 16× slower on tfjs-wasm at N = 1,024, in = 576, r = 8).
   */
  a?: tf.Tensor2D;
}

/** `training` keeps A as it is, for a faster gradient (see PreparedPair.a). */
export function preparePair(a: tf.Tensor2D, b: tf.Tensor2D, training: boolean): PreparedPair {
  return training ? { aT: null, bT: tf.transpose(b), a } : { aT: tf.transpose(a), bT: tf.transpose(b) };
}

/**
 * The LoRA term for x [N, in]: scaling · (dropout(x)·Aᵀ)·Bᵀ → [N, out]. `dropoutSeed` (training only) makes
 * the dropout mask reproducible; without it no dropout is applied (inference).
 */
export function loraDelta(x: tf.Tensor2D, pair: PreparedPair, scaling: number, dropout: number, dropoutSeed: number | null): tf.Tensor2D {
  const input = dropoutSeed !== null && dropout > 0 ? (tf.dropout(x, dropout, undefined, dropoutSeed) as tf.Tensor2D) : x;
  const low = pair.a ? tf.matMul(input, pair.a, false, true) : tf.matMul(input, pair.aT!); // [N, r]
  // Scaling on the narrow [N, r] factor: a broadcast multiply of [N, out] is slow on tfjs-wasm.
  return tf.matMul(tf.mul(low, scaling), pair.bT); // [N, out]
}

/** One linear layer with LoRA: base(x) + the LoRA term. */
export function loraLinear(base: Linear, pair: PreparedPair, scaling: number, dropout: number, dropoutSeed: number | null): Linear {
  return (x) => tf.add(base(x), loraDelta(x, pair, scaling, dropout, dropoutSeed)) as tf.Tensor2D;
}

/** Training mode: LoRA dropout with masks drawn reproducibly from this seed. */
export interface LoraTraining {
  dropoutSeed: number;
}

/** A distinct, reproducible seed per (step seed, layer, projection). */
function dropoutSeedOf(seed: number, li: number, proj: Projection): number {
  return ((seed >>> 0) * 1_000_003 + li * 101 + PROJECTIONS.indexOf(proj) + 1) % 2_147_483_647;
}

/** Linears that wrap each projection for which `pairOf` gives a pair. */
function wrapping(pairOf: (li: number, proj: Projection) => PreparedPair | undefined, scaling: number, dropout: number, training: LoraTraining | null): Linears {
  return {
    wrap: (base, li, proj) => {
      const pair = pairOf(li, proj);
      return pair ? loraLinear(base, pair, scaling, dropout, training ? dropoutSeedOf(training.dropoutSeed, li, proj) : null) : base;
    },
  };
}

/**
 * The adapter as the model's Linears, for forward passes (inference or training); null for no adapter. Each
 * pair is arranged when a pass reaches its layer, inside that pass's tidy scope and tape, so nothing outlives
 * the pass.
 */
export function loraLinears(lora: LoraWeights, options?: { training?: LoraTraining | null }): Linears;
export function loraLinears(lora: LoraWeights | null | undefined, options?: { training?: LoraTraining | null }): Linears | null;
export function loraLinears(lora: LoraWeights | null | undefined, options: { training?: LoraTraining | null } = {}): Linears | null {
  if (!lora) return null;
  const training = options.training ?? null;
  const pairOf = (li: number, proj: Projection) => {
    const pair = lora.modules.get(modulePath(li, proj));
    return pair ? preparePair(pair.a, pair.b, training !== null) : undefined;
  };
  return wrapping(pairOf, lora.scaling, lora.config.dropout, training);
}

/** The adapter's pairs arranged once for a run of many passes (a generation); `dispose` frees what was made. */
export function preparedLoraLinears(lora: LoraWeights): Linears & { dispose(): void } {
  const pairs = new Map<string, PreparedPair>();
  for (const [path, { a, b }] of lora.modules) pairs.set(path, preparePair(a, b, false));
  const pairOf = (li: number, proj: Projection) => pairs.get(modulePath(li, proj));
  return {
    ...wrapping(pairOf, lora.scaling, lora.config.dropout, null),
    // Inference applies no dropout: the term is exactly scaling · (x·Aᵀ)·Bᵀ.
    lowRank: (li, proj) => {
      const p = pairOf(li, proj);
      return p ? { aT: p.aT!, bT: p.bT, scaling: lora.scaling } : undefined;
    },
    dispose: () => {
      for (const p of pairs.values()) tf.dispose([p.aT!, p.bT]);
      pairs.clear();
    },
  };
}

/** Runs `run` with the adapter (or the base model when null) arranged once, and frees it afterwards. */
export async function withLoraLinears<T>(lora: LoraWeights | null | undefined, run: (linears: Linears | null) => Promise<T>): Promise<T> {
  const linears = lora ? preparedLoraLinears(lora) : null;
  try {
    return await run(linears);
  } finally {
    linears?.dispose();
  }
}

/**
 * One layer's LoRA from the A and B tensors given (gradient checkpointing passes them in under its tape):
 * `pairs` maps a projection of layer `li` to its [A, B].
 */
export function layerLoraLinears(
  li: number,
  pairs: ReadonlyMap<Projection, readonly [tf.Tensor2D, tf.Tensor2D]>,
  scaling: number,
  dropout: number,
  training: LoraTraining | null,
): Linears {
  const pairOf = (layer: number, proj: Projection) => {
    const ab = layer === li ? pairs.get(proj) : undefined;
    return ab ? preparePair(ab[0], ab[1], true) : undefined;
  };
  return wrapping(pairOf, scaling, dropout, training);
}
