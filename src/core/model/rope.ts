/**
 * Rotary position embeddings, as Hugging Face computes them (`rotate_half` form): for a head vector x of size
 * hD and position p, x·cos(p·f) + rotate_half(x)·sin(p·f), where f are the inverse frequencies repeated for
 * both halves. Angles are computed in float64 here and rounded once to float32.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './types.ts';

/** Inverse frequencies [hD/2], including `linear` and `llama3` scaling. */
export function ropeInverseFrequencies(c: ModelConfig): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (s.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= s.factor;
  } else if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** cos and sin for the given positions, each [N·hD] (row t: position t's angles, both halves). */
export function ropeAngles(inv: Float64Array, positions: ArrayLike<number>): { cos: Float32Array; sin: Float32Array } {
  const half = inv.length;
  const hD = half * 2;
  const n = positions.length;
  const cos = new Float32Array(n * hD);
  const sin = new Float32Array(n * hD);
  for (let t = 0; t < n; t++) {
    const p = positions[t];
    for (let i = 0; i < half; i++) {
      const a = p * inv[i];
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[t * hD + i] = c;
      cos[t * hD + half + i] = c;
      sin[t * hD + i] = s;
      sin[t * hD + half + i] = s;
    }
  }
  return { cos, sin };
}

/** cos and sin tables for the given positions, each [N, 1, hD] (broadcast over heads). Call inside tf.tidy. */
export function ropeTables(inv: Float64Array, positions: ArrayLike<number>): { cos: tf.Tensor3D; sin: tf.Tensor3D } {
  const hD = inv.length * 2;
  const n = positions.length;
  const { cos, sin } = ropeAngles(inv, positions);
  return { cos: tf.tensor3d(cos, [n, 1, hD]), sin: tf.tensor3d(sin, [n, 1, hD]) };
}

const rotations = new Map<number, Float32Array>();

/**
 * rotate_half as a matrix R [hD, hD]: x·R = concat(−x[hD/2:], x[:hD/2]). One small matmul instead of
 * split/negate/concat (fewer kernel launches per layer, and differentiable). Call inside tf.tidy.
 */
export function rotateHalfMatrix(hD: number): tf.Tensor2D {
  let m = rotations.get(hD);
  if (!m) {
    const half = hD / 2;
    m = new Float32Array(hD * hD);
    for (let j = 0; j < half; j++) {
      m[(j + half) * hD + j] = -1; // out[j] = −x[j + half]
      m[j * hD + j + half] = 1; // out[j + half] = x[j]
    }
    rotations.set(hD, m);
  }
  return tf.tensor2d(m, [hD, hD]);
}

/** Applies RoPE to x [N, heads, hD] with tables [N, 1, hD]. */
export function applyRope(x: tf.Tensor3D, cos: tf.Tensor3D, sin: tf.Tensor3D, rotation: tf.Tensor2D): tf.Tensor3D {
  const [n, heads, hD] = x.shape;
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [n * heads, hD]), rotation), [n, heads, hD]); // [N, heads, hD]
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}
