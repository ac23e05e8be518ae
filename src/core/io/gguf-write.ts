/**
 * A GGUF v3 writer (ggml's docs/gguf.md), little-endian:
 *
 *   "GGUF" u32 version=3  u64 tensor_count  u64 kv_count
 *   kv_count × { string key, u32 value_type, value }
 *   tensor_count × { string name, u32 n_dims, n_dims × u64 ne, u32 ggml_type, u64 offset }
 *   zero padding to `alignment`, then tensor data, each tensor starting at a multiple of `alignment`
 *
 * Strings are u64 length + UTF-8 bytes. `ne` lists dimensions innermost first: a row-major numpy array of
 * shape [rows, cols] is written with ne = [cols, rows] and its bytes unchanged. Only float tensors (F32, F16)
 * are written here; that is all LoRA adapters need.
 */
import { AppError } from '../errors.ts';
import { float32ToFloat16Bits } from './safetensors-write.ts';

export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf_type). */
export const GGUFType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** ggml tensor types used here. */
export const GGMLType = { F32: 0, F16: 1 } as const;
export type GGMLTensorType = (typeof GGMLType)[keyof typeof GGMLType];

export type GGUFValue =
  | { type: 'string'; value: string }
  | { type: 'uint32'; value: number }
  | { type: 'int32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'uint64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'uint32[]'; value: readonly number[] }
  | { type: 'string[]'; value: readonly string[] };

export interface GGUFTensorToWrite {
  name: string;
  /** Row-major (numpy) shape; the file stores it reversed. */
  shape: readonly number[];
  data: Float32Array;
  type?: GGMLTensorType;
}

export interface GGUFWriteOptions {
  alignment?: number;
}

/** Builds the bytes of a GGUF v3 file. Metadata is written in insertion order. */
export function writeGguf(
  metadata: ReadonlyArray<[string, GGUFValue]>,
  tensors: readonly GGUFTensorToWrite[],
  options: GGUFWriteOptions = {},
): Uint8Array<ArrayBuffer> {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new AppError('gguf', `GGUF alignment must be a positive multiple of 8, got ${alignment}.`);
  }
  const keys = new Set<string>();
  for (const [k] of metadata) {
    if (keys.has(k)) throw new AppError('gguf', `GGUF metadata key "${k}" is given twice.`);
    keys.add(k);
  }
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !keys.has('general.alignment')) {
    throw new AppError('gguf', 'A non-default GGUF alignment must also be written as general.alignment.');
  }

  const head = new ByteSink();
  head.bytes(new TextEncoder().encode('GGUF'));
  head.u32(3);
  head.u64(BigInt(tensors.length));
  head.u64(BigInt(metadata.length));
  for (const [key, v] of metadata) {
    head.string(key);
    writeValue(head, v);
  }

  const names = new Set<string>();
  let dataSize = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    if (names.has(t.name)) throw new AppError('gguf', `GGUF tensor "${t.name}" is given twice.`);
    names.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length === 0 || t.shape.length > 4 || count !== t.data.length) {
      throw new AppError(
        'gguf',
        `GGUF tensor "${t.name}" has shape [${t.shape.join(', ')}] and ${t.data.length} values; it needs 1–4 dimensions that match the values.`,
      );
    }
    head.string(t.name);
    head.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) head.u64(BigInt(t.shape[i]));
    head.u32(t.type ?? GGMLType.F32);
    head.u64(BigInt(dataSize));
    offsets.push(dataSize);
    dataSize = pad(dataSize + count * bytesPer(t.type ?? GGMLType.F32), alignment);
  }

  const headBytes = head.finish();
  const dataStart = pad(headBytes.length, alignment);
  const out = new Uint8Array(dataStart + dataSize);
  out.set(headBytes, 0);
  const view = new DataView(out.buffer);
  tensors.forEach((t, i) => {
    const at = dataStart + offsets[i];
    if ((t.type ?? GGMLType.F32) === GGMLType.F32) {
      for (let j = 0; j < t.data.length; j++) view.setFloat32(at + 4 * j, t.data[j], true);
    } else {
      for (let j = 0; j < t.data.length; j++) view.setUint16(at + 2 * j, float32ToFloat16Bits(t.data[j]), true);
    }
  });
  return out;
}

function bytesPer(type: GGMLTensorType): number {
  return type === GGMLType.F32 ? 4 : 2;
}

function pad(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function writeValue(sink: ByteSink, v: GGUFValue): void {
  switch (v.type) {
    case 'string':
      sink.u32(GGUFType.STRING);
      sink.string(v.value);
      return;
    case 'uint32':
      sink.u32(GGUFType.UINT32);
      sink.u32(v.value);
      return;
    case 'int32':
      sink.u32(GGUFType.INT32);
      sink.i32(v.value);
      return;
    case 'float32':
      sink.u32(GGUFType.FLOAT32);
      sink.f32(v.value);
      return;
    case 'uint64':
      sink.u32(GGUFType.UINT64);
      sink.u64(v.value);
      return;
    case 'bool':
      sink.u32(GGUFType.BOOL);
      sink.u8(v.value ? 1 : 0);
      return;
    case 'uint32[]':
      sink.u32(GGUFType.ARRAY);
      sink.u32(GGUFType.UINT32);
      sink.u64(BigInt(v.value.length));
      for (const x of v.value) sink.u32(x);
      return;
    case 'string[]':
      sink.u32(GGUFType.ARRAY);
      sink.u32(GGUFType.STRING);
      sink.u64(BigInt(v.value.length));
      for (const x of v.value) sink.string(x);
      return;
  }
}

/** A growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private n = 0;

  private reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(x: number): void {
    this.reserve(1);
    this.view.setUint8(this.n, x);
    this.n += 1;
  }
  u32(x: number): void {
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new AppError('gguf', `${x} is not a valid uint32.`);
    this.reserve(4);
    this.view.setUint32(this.n, x, true);
    this.n += 4;
  }
  i32(x: number): void {
    if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff) throw new AppError('gguf', `${x} is not a valid int32.`);
    this.reserve(4);
    this.view.setInt32(this.n, x, true);
    this.n += 4;
  }
  f32(x: number): void {
    this.reserve(4);
    this.view.setFloat32(this.n, x, true);
    this.n += 4;
  }
  u64(x: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.n, x, true);
    this.n += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(BigInt(b.length));
    this.bytes(b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}
