/** Reads an adapter's tensors into plain arrays (asynchronously, so it never blocks a WebGPU page). */
import type { LoraWeights } from './types.ts';

export interface PlainTensor {
  shape: number[];
  data: Float32Array;
}

export interface LoraPlainPair {
  /** [r, in] */
  a: PlainTensor;
  /** [out, r] */
  b: PlainTensor;
}

/** Module path → A and B as Float32Arrays, in the adapter's module order. */
export async function loraToPlain(weights: LoraWeights): Promise<Map<string, LoraPlainPair>> {
  const out = new Map<string, LoraPlainPair>();
  for (const [path, { a, b }] of weights.modules) {
    const [ad, bd] = await Promise.all([a.data(), b.data()]);
    out.set(path, {
      a: { shape: [...a.shape], data: Float32Array.from(ad as Float32Array) },
      b: { shape: [...b.shape], data: Float32Array.from(bd as Float32Array) },
    });
  }
  return out;
}
