/**
 * The model's projections as functions, so that something outside the model can wrap them. A pass computes
 * each projection as `linears.wrap(base, layer, proj)(x)` where `base` is x·W (+ bias); with no `linears` it
 * uses `base` itself. An adapter is such a wrapper (LoRA: src/core/lora/linear.ts); the model knows nothing
 * else about it.
 */
import * as tf from '@tensorflow/tfjs';
import type { Projection } from './types.ts';

/** x [N, in] → [N, out]. */
export type Linear = (x: tf.Tensor2D) => tf.Tensor2D;

export interface Linears {
  /**
   * The projection layer `layer` uses in place of `base`. Called inside the pass (within its tf.tidy scope and
   * under any gradient tape), each time a layer runs.
   */
  wrap(base: Linear, layer: number, proj: Projection): Linear;
  /**
   * For runtimes that compute the projections themselves (the wasm kernels): what `wrap` adds, when it is a
   * low-rank term y += scaling · (x·aT)·bT (aT [in, r], bT [r, out]); undefined for a projection left as it is.
   * Absent when the wrapper is anything else: such runtimes then leave the pass to tfjs ops.
   */
  lowRank?: (layer: number, proj: Projection) => LowRankTerm | undefined;
}

export interface LowRankTerm {
  aT: tf.Tensor2D; // [in, r]
  bT: tf.Tensor2D; // [r, out]
  scaling: number;
}

/** x·W (+ bias): x [N, in], W [in, out] → [N, out]. */
export function denseLinear(w: tf.Tensor2D, bias: tf.Tensor1D | null): Linear {
  return (x) => {
    const y: tf.Tensor2D = tf.matMul(x, w);
    return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
  };
}
