/**
 * ggml tensor encodings the GGUF writer produces (ggml.h's ggml_type numbers):
 *
 *   F32   0  4 bytes per value, little-endian
 *   F16   1  2 bytes per value (IEEE half, round to nearest even)
 *   Q8_0  8  blocks of 32 values along the innermost dimension, 34 bytes each:
 *            f16 d = max|x| / 127, then 32 × int8 q = round(x / d) (halves away from zero), x ≈ q·d
 *
 * Q8_0 follows ggml's reference quantizer (quantize_row_q8_0_ref): d and 1/d are float32, the scale is stored
 * as half, and the quants come from x · (1/d). Rows whose length is not a multiple of 32 cannot be Q8_0.
 */
import { AppError } from '../errors.ts';
import { float32ToFloat16Bits } from './safetensors-write.ts';

export const GGMLType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GGMLTensorType = (typeof GGMLType)[keyof typeof GGMLType];

export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export function ggmlTypeName(type: GGMLTensorType): 'F32' | 'F16' | 'Q8_0' {
  return type === GGMLType.F32 ? 'F32' : type === GGMLType.F16 ? 'F16' : 'Q8_0';
}

/** Whether a tensor of this (row-major) shape can be stored as `type`. */
export function ggmlTypeFits(type: GGMLTensorType, shape: readonly number[]): boolean {
  return type !== GGMLType.Q8_0 || (shape.length > 0 && shape[shape.length - 1] % Q8_0_BLOCK === 0);
}

/** Bytes of `count` values stored as `type` (for Q8_0, count is a multiple of 32). */
export function ggmlByteSize(type: GGMLTensorType, count: number): number {
  switch (type) {
    case GGMLType.F32:
      return 4 * count;
    case GGMLType.F16:
      return 2 * count;
    case GGMLType.Q8_0:
      if (count % Q8_0_BLOCK !== 0) throw new AppError('gguf', `Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${count}.`);
      return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

/** Writes `data` (float32, row-major) at byte `at` of `view`, encoded as `type`. */
export function encodeGgml(view: DataView, at: number, data: Float32Array, type: GGMLTensorType): void {
  switch (type) {
    case GGMLType.F32:
      for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
      return;
    case GGMLType.F16:
      for (let i = 0; i < data.length; i++) view.setUint16(at + 2 * i, float32ToFloat16Bits(data[i]), true);
      return;
    case GGMLType.Q8_0:
      encodeQ8_0(view, at, data);
      return;
  }
}

function encodeQ8_0(view: DataView, at: number, data: Float32Array): void {
  const blocks = ggmlByteSize(GGMLType.Q8_0, data.length) / Q8_0_BLOCK_BYTES;
  for (let b = 0; b < blocks; b++) {
    const from = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(data[from + j]));
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    const out = at + b * Q8_0_BLOCK_BYTES;
    view.setUint16(out, float32ToFloat16Bits(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const x = Math.fround(data[from + j] * id);
      view.setInt8(out + 2 + j, Math.sign(x) * Math.round(Math.abs(x))); // roundf: halves away from zero
    }
  }
}
