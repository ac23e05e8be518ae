/**
 * LoRA on one projection: y = x·W + scaling · (dropout(x)·Aᵀ)·Bᵀ, with A [r, in] and B [out, r] as PEFT
 * stores them. Works with plain tensors and tf.Variables, and is differentiable with respect to A and B.
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTIONS, modulePath, type Projection } from '../model/types.ts';
import type { LoraPair, LoraWeights } from './types.ts';

/** A and B transposed for `x · Aᵀ · Bᵀ` without transposed matmuls (slow on tfjs-wasm). */
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

/** Per layer, per projection: the prepared pair or null. */
export interface PreparedLora {
  scaling: number;
  dropout: number;
  layers: Array<Partial<Record<Projection, PreparedPair>>>;
}

/**
 * Transposes every pair once. Inside tf.tidy for a forward pass (differentiable), or kept for a generation.
 * `training` also keeps A as it is, for a faster gradient (see PreparedPair.a).
 */
export function prepareLora(lora: LoraWeights, numLayers: number, options: { training?: boolean } = {}): PreparedLora {
  const layers: PreparedLora['layers'] = Array.from({ length: numLayers }, () => ({}));
  for (let i = 0; i < numLayers; i++) {
    for (const proj of PROJECTIONS) {
      const pair: LoraPair | undefined = lora.modules.get(modulePath(i, proj));
      if (pair) layers[i][proj] = options.training ? { aT: null, bT: tf.transpose(pair.b), a: pair.a } : { aT: tf.transpose(pair.a), bT: tf.transpose(pair.b) };
    }
  }
  return { scaling: lora.scaling, dropout: lora.config.dropout, layers };
}

export function disposePreparedLora(p: PreparedLora): void {
  // Training pairs hold A itself (owned by the adapter): only the transposes made here are freed.
  for (const layer of p.layers) for (const pair of Object.values(layer)) tf.dispose(pair.aT ? [pair.aT, pair.bT] : [pair.bT]);
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
