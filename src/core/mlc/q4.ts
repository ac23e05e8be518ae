/**
 * 4-bit group quantization as mlc-llm's `GroupQuantize` stores q4f16_1 / q4f32_1 (layout "NK"): a matrix
 * W [rows, cols] (rows = output features, cols = input features, groups of 32 along cols) becomes
 *
 *   q_weight [rows, ceil(cols/32)·4] uint32 — element c of a row is nibble (c mod 8) of word c div 8, low
 *                                             bits first; nibbles past `cols` are 0;
 *   q_scale  [rows, ceil(cols/32)]          — model dtype (float16 or float32).
 *
 *   scale = max |w| over the group / 7,   q = clamp(round(w / scale + 7), 0, 14),   w ≈ (q − 7) · scale.
 *
 * The arithmetic happens in the model dtype, so for float16 models every step is rounded to float16 here
 * too (including the dequantized product, which web-llm also computes in float16). round() is round half to
 * even. An all-zero group gets scale 0 and q = 7 (mlc-llm would divide by zero there).
 */
import { halfToFloat } from '../io/dtypes.ts';
import { float32ToFloat16Bits } from '../io/safetensors-write.ts';
import { Q4_GROUP_SIZE, Q4_PER_WORD } from './types.ts';

export type Q4Dtype = 'float16' | 'float32';

const MAX_Q = 7;

/** Words per row and groups per row for `cols` input features. */
export function q4Dims(cols: number): { words: number; groups: number } {
  const groups = Math.ceil(cols / Q4_GROUP_SIZE);
  return { groups, words: groups * (Q4_GROUP_SIZE / Q4_PER_WORD) };
}

function rounder(dtype: Q4Dtype): (x: number) => number {
  return dtype === 'float16' ? (x) => halfToFloat(float32ToFloat16Bits(x)) : Math.fround;
}

/** q_weight [rows, words] + q_scale [rows, groups] → W [rows, cols] as float32, as web-llm computes it. */
export function dequantizeQ4(qWeight: Uint32Array, qScale: Float32Array, rows: number, cols: number, dtype: Q4Dtype): Float32Array {
  const { words, groups } = q4Dims(cols);
  if (qWeight.length !== rows * words || qScale.length !== rows * groups) {
    throw new Error(`unreachable: q4 arrays ${qWeight.length}/${qScale.length} do not fit [${rows}, ${cols}]`);
  }
  const round = rounder(dtype);
  const out = new Float32Array(rows * cols);
  const table = new Float32Array(2 * MAX_Q + 1); // the 15 values a group can hold
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const scale = qScale[r * groups + g];
      for (let q = 0; q <= 2 * MAX_Q; q++) table[q] = round((q - MAX_Q) * scale);
      const c1 = Math.min(cols, (g + 1) * Q4_GROUP_SIZE);
      for (let c = g * Q4_GROUP_SIZE; c < c1; c++) {
        const word = qWeight[r * words + (c >>> 3)];
        const q = (word >>> ((c & 7) * 4)) & 0xf;
        // 15 is never written; read it as the clamp would have stored it.
        out[r * cols + c] = table[q > 2 * MAX_Q ? 2 * MAX_Q : q];
      }
    }
  }
  return out;
}

/** W [rows, cols] → q_weight [rows, words], q_scale [rows, groups] (the scales already rounded to `dtype`). */
export function quantizeQ4(w: Float32Array, rows: number, cols: number, dtype: Q4Dtype): { qWeight: Uint32Array; qScale: Float32Array } {
  const { words, groups } = q4Dims(cols);
  const round = rounder(dtype);
  const qWeight = new Uint32Array(rows * words);
  const qScale = new Float32Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const c0 = g * Q4_GROUP_SIZE;
      const c1 = Math.min(cols, c0 + Q4_GROUP_SIZE);
      let maxAbs = 0;
      for (let c = c0; c < c1; c++) maxAbs = Math.max(maxAbs, Math.abs(round(w[r * cols + c])));
      const scale = round(maxAbs / MAX_Q);
      qScale[r * groups + g] = scale;
      for (let c = c0; c < c1; c++) {
        let q = MAX_Q;
        if (scale !== 0) {
          const t = round(round(round(w[r * cols + c]) / scale) + MAX_Q);
          q = Math.min(2 * MAX_Q, Math.max(0, roundHalfEven(t)));
        }
        qWeight[r * words + (c >>> 3)] |= q << ((c & 7) * 4);
      }
    }
  }
  return { qWeight, qScale };
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
