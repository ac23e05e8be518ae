/**
 * A GGUF v3 writer (ggml's docs/gguf.md), little-endian:
 *
 *   "GGUF" u32 version=3  u64 tensor_count  u64 kv_count
 *   kv_count × { string key, u32 value_type, value }
 *   tensor_count × { string name, u32 n_dims, n_dims × u64 ne, u32 ggml_type, u64 offset }
 *   zero padding to `alignment`, then tensor data, each tensor starting at a multiple of `alignment`
 *
 * Strings are u64 length + UTF-8 bytes. `ne` lists dimensions innermost first: a row-major numpy array of
 * shape [rows, cols] is written with ne = [cols, rows] and its bytes unchanged. Tensor types: F32, F16 and Q8_0
 * (ggml-quant.ts).
 */
import { AppError } from '../errors.ts';
import { GGMLType, ggmlByteSize, ggmlTypeFits, ggmlTypeName, encodeGgml, Q8_0_BLOCK, type GGMLTensorType } from './ggml-quant.ts';

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

export { GGMLType, type GGMLTensorType } from './ggml-quant.ts';

export type GGUFValue =
  | { type: 'string'; value: string }
  | { type: 'uint32'; value: number }
  | { type: 'int32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'uint64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'uint32[]'; value: readonly number[] }
  | { type: 'int32[]'; value: readonly number[] }
  | { type: 'string[]'; value: readonly string[] };

/** A tensor's place in the file: name, row-major (numpy) shape and ggml type (default F32). */
export interface GGUFTensorSpec {
  name: string;
  /** Row-major (numpy) shape; the file stores it reversed. */
  shape: readonly number[];
  type?: GGMLTensorType;
}

export interface GGUFTensorToWrite extends GGUFTensorSpec {
  data: Float32Array;
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
  const builder = new GgufBuilder(metadata, tensors, options);
  for (const t of tensors) builder.put(t.name, t.data);
  return builder.finish();
}

/**
 * A GGUF file laid out from its metadata and tensor specs first, then filled one tensor at a time, so that
 * a whole model never has to be held as float32 arrays next to the file: the peak is the file's bytes plus
 * the tensor being written.
 */
export class GgufBuilder {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #slots = new Map<string, { at: number; shape: readonly number[]; count: number; type: GGMLTensorType; filled: boolean }>();

  constructor(metadata: ReadonlyArray<[string, GGUFValue]>, tensors: Iterable<GGUFTensorSpec>, options: GGUFWriteOptions = {}) {
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
    const specs = [...tensors];

    const head = new ByteSink();
    head.bytes(new TextEncoder().encode('GGUF'));
    head.u32(3);
    head.u64(BigInt(specs.length));
    head.u64(BigInt(metadata.length));
    for (const [key, v] of metadata) {
      head.string(key);
      writeValue(head, v);
    }

    let dataSize = 0;
    const layout: Array<{ spec: GGUFTensorSpec; rel: number; count: number; type: GGMLTensorType }> = [];
    const names = new Set<string>();
    for (const t of specs) {
      if (names.has(t.name)) throw new AppError('gguf', `GGUF tensor "${t.name}" is given twice.`);
      names.add(t.name);
      const type = t.type ?? GGMLType.F32;
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (t.shape.length === 0 || t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
        throw new AppError('gguf', `GGUF tensor "${t.name}" has shape [${t.shape.join(', ')}]; it needs 1–4 dimensions of at least 1.`);
      }
      if (!ggmlTypeFits(type, t.shape)) {
        throw new AppError('gguf', `GGUF tensor "${t.name}" [${t.shape.join(', ')}] cannot be ${ggmlTypeName(type)}: its rows must be a multiple of ${Q8_0_BLOCK} long.`);
      }
      head.string(t.name);
      head.u32(t.shape.length);
      for (let i = t.shape.length - 1; i >= 0; i--) head.u64(BigInt(t.shape[i]));
      head.u32(type);
      head.u64(BigInt(dataSize));
      layout.push({ spec: t, rel: dataSize, count, type });
      dataSize = pad(dataSize + ggmlByteSize(type, count), alignment);
    }

    const headBytes = head.finish();
    const dataStart = pad(headBytes.length, alignment);
    this.#bytes = new Uint8Array(dataStart + dataSize);
    this.#bytes.set(headBytes, 0);
    this.#view = new DataView(this.#bytes.buffer);
    for (const { spec, rel, count, type } of layout) {
      this.#slots.set(spec.name, { at: dataStart + rel, shape: spec.shape, count, type, filled: false });
    }
  }

  /** Writes one tensor's values (float32, row-major), encoded as its type. */
  put(name: string, data: Float32Array): void {
    const slot = this.#slots.get(name);
    if (!slot) throw new AppError('gguf', `GGUF tensor "${name}" is not in this file's header.`);
    if (slot.filled) throw new AppError('gguf', `GGUF tensor "${name}" was written twice.`);
    if (data.length !== slot.count) {
      throw new AppError('gguf', `GGUF tensor "${name}" has shape [${slot.shape.join(', ')}] but ${data.length} values; they must agree.`);
    }
    encodeGgml(this.#view, slot.at, data, slot.type);
    slot.filled = true;
  }

  /** The file's bytes, once every tensor is written. */
  finish(): Uint8Array<ArrayBuffer> {
    for (const [name, slot] of this.#slots) {
      if (!slot.filled) throw new AppError('gguf', `GGUF tensor "${name}" was never written; the file is incomplete.`);
    }
    return this.#bytes;
  }
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
    case 'int32[]':
      sink.u32(GGUFType.ARRAY);
      sink.u32(GGUFType.INT32);
      sink.u64(BigInt(v.value.length));
      for (const x of v.value) sink.i32(x);
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
