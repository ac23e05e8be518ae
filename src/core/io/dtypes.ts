/**
 * safetensors dtypes: their sizes, and widening to the two dtypes tfjs computes with (float32, int32).
 * All safetensors data is little-endian; the readers below assume a little-endian host (every browser and
 * Node platform we target) and `assertLittleEndianHost` says so loudly otherwise.
 */
import { AppError } from '../errors.ts';

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

export function isSafetensorsDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** A tensor's values after widening: floats become float32, integers and bools become int32. */
export type WideArray = { dtype: 'float32'; data: Float32Array } | { dtype: 'int32'; data: Int32Array };

let littleEndian: boolean | null = null;
export function assertLittleEndianHost(): void {
  if (littleEndian === null) littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (!littleEndian) throw new AppError('unsupported', 'This device is big-endian; safetensors files cannot be read here.');
}

/** IEEE half → float32 for one 16-bit pattern. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let halfTable: Float32Array | null = null;
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  return halfTable;
}

/**
 * Widens `bytes` (one whole tensor) of `dtype` to float32 or int32. Returns `{ error }` for what tfjs cannot
 * represent faithfully: F8 dtypes, and 64/32-bit unsigned integers outside the int32 range.
 */
export function widen(dtype: SafetensorsDtype, bytes: Uint8Array): WideArray | { error: string } {
  assertLittleEndianHost();
  // Typed-array views need an offset that is a multiple of the element size.
  if (bytes.byteOffset % DTYPE_BYTES[dtype] !== 0) bytes = bytes.slice();
  const buf = bytes.buffer;
  const off = bytes.byteOffset;
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return { dtype: 'float32', data: new Float32Array(buf, off, n) };
    case 'F64':
      return { dtype: 'float32', data: new Float32Array(new Float64Array(buf, off, n)) };
    case 'F16': {
      const src = new Uint16Array(buf, off, n);
      const table = halfLookup();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return { dtype: 'float32', data: out };
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the 16 bits into place.
      const src = new Uint16Array(buf, off, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      return { dtype: 'float32', data: new Float32Array(out.buffer) };
    }
    case 'I32':
      return { dtype: 'int32', data: new Int32Array(buf, off, n) };
    case 'I16':
      return { dtype: 'int32', data: new Int32Array(new Int16Array(buf, off, n)) };
    case 'I8':
      return { dtype: 'int32', data: new Int32Array(new Int8Array(buf, off, n)) };
    case 'U16':
      return { dtype: 'int32', data: new Int32Array(new Uint16Array(buf, off, n)) };
    case 'U8':
    case 'BOOL':
      return { dtype: 'int32', data: new Int32Array(new Uint8Array(buf, off, n)) };
    case 'U32': {
      const src = new Uint32Array(buf, off, n);
      for (let i = 0; i < n; i++) if (src[i] > 0x7fffffff) return { error: `value ${src[i]} at index ${i} does not fit in int32` };
      return { dtype: 'int32', data: new Int32Array(src) };
    }
    case 'I64':
    case 'U64': {
      const src = dtype === 'I64' ? new BigInt64Array(buf, off, n) : new BigUint64Array(buf, off, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (v > 2147483647n || v < -2147483648n) return { error: `value ${v} at index ${i} does not fit in int32` };
        out[i] = Number(v);
      }
      return { dtype: 'int32', data: out };
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
      return { error: `dtype ${dtype} is not supported (convert the checkpoint to F32, F16 or BF16)` };
  }
}
