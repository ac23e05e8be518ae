/**
 * How much of an adapter survives a requantized merge, measured in logits by our runtime on held-out token
 * rows (prompts the adapter was not trained on):
 *
 *   Δ_exact = logits(base + adapter applied as LoRA) − logits(base)     the change the adapter makes
 *   Δ_kept  = logits(merged model)                  − logits(base)     the change the merged files make
 *   kept    = ⟨Δ_kept, Δ_exact⟩ / ‖Δ_exact‖²        (1 = the merge changes the logits exactly as the adapter)
 *   residual = ‖Δ_kept − Δ_exact‖ / ‖Δ_exact‖         (0 = nothing lost or distorted)
 *
 * over every position of every row. The base is the model the adapter was trained on (the q4 base,
 * dequantized, for QLoRA-style training), so a q0 merge scores kept ≈ 1, residual ≈ 0.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { loraLinears } from '../lora/linear.ts';
import type { LoraWeights } from '../lora/types.ts';
import { forward, type LlamaModel } from '../model/llama.ts';

export interface RetentionReport {
  rows: number;
  positions: number;
  kept: number;
  residual: number;
  /** Largest |logit| change the adapter makes, and the largest difference of the merge from it. */
  maxExactChange: number;
  maxDifference: number;
}

async function logitsOf(model: LlamaModel, ids: tf.Tensor2D, lora: LoraWeights | null): Promise<Float32Array> {
  const out = forward(model, ids, { linears: loraLinears(lora) });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** `rows` must be of equal length (one batch). */
export async function measureRetention(base: LlamaModel, adapter: LoraWeights, merged: LlamaModel, rows: number[][]): Promise<RetentionReport> {
  if (rows.length === 0 || rows.some((r) => r.length !== rows[0].length || r.length === 0)) {
    throw new AppError('bad-input', 'Retention needs one or more held-out rows of token ids, all of the same length.');
  }
  const ids = tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
  try {
    const b = await logitsOf(base, ids, null);
    const e = await logitsOf(base, ids, adapter);
    const m = await logitsOf(merged, ids, null);
    let dot = 0;
    let norm = 0;
    let err = 0;
    let maxExact = 0;
    let maxDiff = 0;
    for (let i = 0; i < b.length; i++) {
      const want = e[i] - b[i];
      const got = m[i] - b[i];
      dot += got * want;
      norm += want * want;
      err += (got - want) ** 2;
      maxExact = Math.max(maxExact, Math.abs(want));
      maxDiff = Math.max(maxDiff, Math.abs(m[i] - e[i]));
    }
    if (norm === 0) throw new AppError('bad-input', 'The adapter does not change the logits on these rows (is B still zero?); retention is undefined.');
    return { rows: rows.length, positions: rows.length * rows[0].length, kept: dot / norm, residual: Math.sqrt(err / norm), maxExactChange: maxExact, maxDifference: maxDiff };
  } finally {
    ids.dispose();
  }
}

/** `n` rows of `length` token ids drawn from a fixed seed (ids 3 … V−1: past the usual special tokens). */
export function heldOutRows(vocabSize: number, n = 4, length = 24, seed = 12345): number[][] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const lo = Math.min(3, vocabSize - 1);
  return Array.from({ length: n }, () => Array.from({ length }, () => lo + Math.floor(next() * (vocabSize - lo))));
}
