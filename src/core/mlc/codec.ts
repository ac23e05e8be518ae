/**
 * A record's bytes ↔ values. Floats widen to float32 (tfjs has no 16-bit floats): float16 through the
 * project's own half-precision table (io/dtypes.ts), bfloat16 and `f32-to-bf16` by shifting the 16 stored
 * bits into the top of a float32. Encoding rounds to nearest even (io/safetensors-write.ts). Little-endian,
 * as every tvmjs shard is.
 */
import { assertLittleEndianHost, widen } from '../io/dtypes.ts';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../io/safetensors-write.ts';
import type { MlcRecord } from './types.ts';

/** A floating-point record's values as float32. */
export function decodeFloats(bytes: Uint8Array, record: Pick<MlcRecord, 'dtype' | 'format'>): Float32Array {
  assertLittleEndianHost();
  if (record.dtype === 'uint32') throw new Error(`unreachable: uint32 record decoded as floats`);
  const stored = record.format === 'f32-to-bf16' ? 'BF16' : record.dtype === 'float32' ? 'F32' : record.dtype === 'float16' ? 'F16' : 'BF16';
  const wide = widen(stored, bytes);
  if ('error' in wide || wide.dtype !== 'float32') throw new Error(`unreachable: ${stored} did not widen to float32`);
  // widen() may return a view of `bytes` (F32): copy so the caller owns the values.
  return stored === 'F32' ? Float32Array.from(wide.data) : wide.data;
}

/** A uint32 record's words. */
export function decodeWords(bytes: Uint8Array): Uint32Array {
  assertLittleEndianHost();
  const copy = bytes.slice();
  return new Uint32Array(copy.buffer, 0, copy.byteLength / 4);
}

/** float32 values → the bytes of a record of this dtype and format. */
export function encodeFloats(values: Float32Array, record: Pick<MlcRecord, 'dtype' | 'format'>): Uint8Array {
  assertLittleEndianHost();
  if (record.dtype === 'float32' && record.format === 'raw') return new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint16Array(values.length);
  const toBits = record.dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
  for (let i = 0; i < values.length; i++) out[i] = toBits(values[i]);
  return new Uint8Array(out.buffer);
}

export function encodeWords(words: Uint32Array): Uint8Array {
  assertLittleEndianHost();
  return new Uint8Array(Uint32Array.from(words).buffer);
}
