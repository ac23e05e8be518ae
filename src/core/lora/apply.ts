/**
 * LoRA on one projection: y = x·W + scaling · (dropout(x)·Aᵀ)·Bᵀ, with A [r, in] and B [out, r] as PEFT
 * stores them. Works with plain tensors and tf.Variables, and is differentiable with respect to A and B.
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTIONS, modulePath, type Projection } from '../model/types.ts';
import type { LoraPair, LoraWeights } from './types.ts';

/** A and B transposed for `x · Aᵀ · Bᵀ` without transposed matmuls (slow on tfjs-wasm). */
export interface PreparedPair {
  aT: tf.Tensor2D; // [in, r]
  bT: tf.Tensor2D; // [r, out]
}

/** Per layer, per projection: the prepared pair or null. */
export interface PreparedLora {
  scaling: number;
  dropout: number;
  layers: Array<Partial<Record<Projection, PreparedPair>>>;
}

/** Transposes every pair once. Inside tf.tidy for a forward pass (differentiable), or kept for a generation. */
export function prepareLora(lora: LoraWeights, numLayers: number): PreparedLora {
  const layers: PreparedLora['layers'] = Array.from({ length: numLayers }, () => ({}));
  for (let i = 0; i < numLayers; i++) {
    for (const proj of PROJECTIONS) {
      const pair: LoraPair | undefined = lora.modules.get(modulePath(i, proj));
      if (pair) layers[i][proj] = { aT: tf.transpose(pair.a), bT: tf.transpose(pair.b) };
    }
  }
  return { scaling: lora.scaling, dropout: lora.config.dropout, layers };
}

export function disposePreparedLora(p: PreparedLora): void {
  for (const layer of p.layers) for (const pair of Object.values(layer)) tf.dispose([pair.aT, pair.bT]);
}

/**
 * The LoRA term for x [N, in]: scaling · (dropout(x)·Aᵀ)·Bᵀ → [N, out]. `dropoutSeed` (training only) makes
 * the dropout mask reproducible; without it no dropout is applied (inference).
 */
export function loraDelta(x: tf.Tensor2D, pair: PreparedPair, scaling: number, dropout: number, dropoutSeed: number | null): tf.Tensor2D {
  const input = dropoutSeed !== null && dropout > 0 ? (tf.dropout(x, dropout, undefined, dropoutSeed) as tf.Tensor2D) : x;
  const low = tf.matMul(input, pair.aT); // [N, r]
  return tf.mul(tf.matMul(low, pair.bT), scaling); // [N, out]
}
