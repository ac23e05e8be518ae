/**
 * A safetensors writer (https://github.com/huggingface/safetensors, "Format"):
 *
 *   [u64 little-endian N] [N bytes of UTF-8 JSON header] [tensor bytes]
 *
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the
 * start of the byte buffer, contiguous, in the order written) plus `__metadata__` (string → string). As the
 * reference implementation does, the header is padded with spaces so that the data starts at a multiple
 * of 8 bytes. Values are little-endian. Input is float32; output is F32, F16 or BF16 (round to nearest even).
 */
import { AppError } from '../errors.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface TensorToWrite {
  /** Row-major dimensions; [] for a scalar. */
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsWriteOptions {
  /** Output dtype of every tensor (default F32). */
  dtype?: SafetensorsDtype;
  /** String → string metadata; default `{ format: 'pt' }` as PyTorch writers use. */
  metadata?: Record<string, string>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Serialises tensors in the iteration order of `tensors`. */
export function writeSafetensors(
  tensors: Map<string, TensorToWrite> | Iterable<[string, TensorToWrite]>,
  options: SafetensorsWriteOptions = {},
): Uint8Array<ArrayBuffer> {
  const entries = [...tensors];
  const file = new SafetensorsBuilder(entries.map(([name, t]) => [name, t.shape]), options);
  for (const [name, t] of entries) file.put(name, t.data);
  return file.finish();
}

/**
 * A safetensors file laid out from names and shapes before any value exists, then filled one tensor at a
 * time: a caller producing tensors one by one (merging a model, say) never holds them all as arrays, only
 * the output bytes. `finish()` checks that every tensor was filled.
 */
export class SafetensorsBuilder {
  readonly dtype: SafetensorsDtype;
  readonly #bytes: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  /** Tensor name → where its values start (absolute byte offset), its shape and whether it is written yet. */
  readonly #slots = new Map<string, { at: number; shape: readonly number[]; count: number; filled: boolean }>();

  constructor(shapes: Iterable<readonly [string, readonly number[]]>, options: SafetensorsWriteOptions = {}) {
    const dtype = (this.dtype = options.dtype ?? 'F32');
    const metadata = options.metadata ?? { format: 'pt' };
    const header: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new AppError('safetensors', `Safetensors metadata value of "${k}" must be a string.`);
    }
    header.__metadata__ = metadata;

    let offset = 0;
    const seen = new Set<string>();
    const layout: Array<{ name: string; rel: number; shape: readonly number[]; count: number }> = [];
    for (const [name, shape] of shapes) {
      if (name === '__metadata__' || name.length === 0) {
        throw new AppError('safetensors', `"${name}" cannot be used as a tensor name in a safetensors file.`);
      }
      if (seen.has(name)) throw new AppError('safetensors', `Tensor "${name}" is listed twice; names must be unique.`);
      seen.add(name);
      if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new AppError('safetensors', `Tensor "${name}" has shape [${shape.join(', ')}]; dimensions must be whole numbers ≥ 0.`);
      }
      const count = shape.reduce((a, b) => a * b, 1);
      const bytes = count * BYTES[dtype];
      header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + bytes] };
      layout.push({ name, rel: offset, shape, count });
      offset += bytes;
    }

    const json = new TextEncoder().encode(JSON.stringify(header));
    const padded = Math.ceil(json.length / 8) * 8;
    this.#bytes = new Uint8Array(8 + padded + offset);
    this.#view = new DataView(this.#bytes.buffer);
    this.#view.setBigUint64(0, BigInt(padded), true);
    this.#bytes.set(json, 8);
    this.#bytes.fill(0x20, 8 + json.length, 8 + padded);
    for (const { name, rel, shape, count } of layout) this.#slots.set(name, { at: 8 + padded + rel, shape, count, filled: false });
  }

  /** Writes one tensor's values (float32, row-major) in the file's dtype. */
  put(name: string, data: Float32Array): void {
    const slot = this.#slots.get(name);
    if (!slot) throw new AppError('safetensors', `Tensor "${name}" is not in this safetensors file's header.`);
    if (slot.filled) throw new AppError('safetensors', `Tensor "${name}" was written twice.`);
    if (data.length !== slot.count) {
      throw new AppError('safetensors', `Tensor "${name}" has shape [${slot.shape.join(', ')}] but ${data.length} values; they must agree.`);
    }
    encodeInto(this.#view, slot.at, data, this.dtype);
    slot.filled = true;
  }

  /** The file's bytes, once every tensor is written. */
  finish(): Uint8Array<ArrayBuffer> {
    for (const [name, slot] of this.#slots) {
      if (!slot.filled) throw new AppError('safetensors', `Tensor "${name}" was never written; the safetensors file is incomplete.`);
    }
    return this.#bytes;
  }
}

function encodeInto(view: DataView, at: number, data: Float32Array, dtype: SafetensorsDtype): void {
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN) {
        new Uint8Array(view.buffer, at, data.length * 4).set(new Uint8Array(data.buffer, data.byteOffset, data.length * 4));
      } else {
        for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
      }
      return;
    case 'F16':
      for (let i = 0; i < data.length; i++) view.setUint16(at + 2 * i, float32ToFloat16Bits(data[i]), true);
      return;
    case 'BF16':
      for (let i = 0; i < data.length; i++) view.setUint16(at + 2 * i, float32ToBfloat16Bits(data[i]), true);
      return;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits of a float32, rounding to nearest even; NaN stays NaN. */
export function float32ToBfloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** IEEE half-precision bits of a float32, rounding to nearest even (overflow → ±Inf, subnormals kept). */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal: ±0
    mant |= 0x800000; // implicit leading one
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1; // may carry into the exponent: correct
  return sign | h;
}
