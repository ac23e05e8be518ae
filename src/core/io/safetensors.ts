/**
 * A safetensors reader written to the format's specification:
 *
 *   [8 bytes: N, unsigned little-endian u64] [N bytes: UTF-8 JSON header, starts with '{', may end in spaces]
 *   [data: the tensors' bytes, little-endian, row-major]
 *
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the
 * data section) plus an optional `__metadata__` object of strings. Everything is validated before any tensor
 * is read: header size (≤ 100 MB), JSON, dtypes, shapes, dtype size × shape = byte span, spans inside the
 * file, contiguous, without overlap or gaps, covering the data section exactly. A malformed file gets an
 * AppError('safetensors') naming the file, the tensor and the problem.
 *
 * Tensors are read one at a time from a ByteSource, so a caller can widen, upload and drop each one.
 */
import { AppError } from '../errors.ts';
import type { ByteSource } from './byte-source.ts';
import { DTYPE_BYTES, isSafetensorsDtype, widen, type SafetensorsDtype, type WideArray } from './dtypes.ts';
import { topLevelKeys } from './json-keys.ts';

export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Absolute offset of the data section (8 + header length). */
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string> | null;
}

export interface ReadTensor {
  name: string;
  shape: number[];
  /** The stored dtype, before widening. */
  stored: SafetensorsDtype;
  values: WideArray;
}

const ADVICE = 'The file is damaged or is not a safetensors file; download or export it again.';

function fail(file: string, tensor: string | null, problem: string): AppError {
  const where = tensor === null ? 'header' : `tensor ${quoteName(tensor)}`;
  return new AppError('safetensors', `${file}: ${where}: ${problem}. ${ADVICE}`);
}

function quoteName(name: string): string {
  const shown = name.length > 120 ? `${name.slice(0, 120)}…` : name;
  return JSON.stringify(shown);
}

/** Parses the 8-byte prefix; `fileSize` bounds the declared header. */
export function headerLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw fail(file, null, `the file is ${fileSize} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const n = high * 2 ** 32 + low;
  if (n > MAX_HEADER_BYTES) {
    throw fail(file, null, `it declares a ${n}-byte header; the limit is ${MAX_HEADER_BYTES} bytes`);
  }
  if (8 + n > fileSize) {
    throw fail(file, null, `the declared header length ${n} runs past the end of the file (${fileSize} bytes)`);
  }
  return n;
}

/** Validates a header's bytes (after the 8-byte prefix) against the file size. */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  if (headerBytes.byteLength === 0 || headerBytes[0] !== 0x7b /* { */) {
    throw fail(file, null, 'the header does not start with "{"');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw fail(file, null, 'the header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw fail(file, null, `the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(parsed)) throw fail(file, null, 'the header is not a JSON object');

  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) throw fail(file, key, 'the name appears twice in the header');
    seen.add(key);
  }

  let metadata: Record<string, string> | null = null;
  const tensors = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, raw);
      continue;
    }
    if (name === '__proto__') throw fail(file, name, 'the name "__proto__" is not allowed');
    tensors.set(name, parseEntry(file, name, raw, dataSize));
  }
  checkLayout(file, [...tensors.values()], dataSize);
  return { file, dataStart, tensors, metadata };
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (!isPlainObject(raw)) throw fail(file, '__metadata__', 'must be an object of strings');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw fail(file, '__metadata__', `the value of ${quoteName(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(file: string, name: string, raw: unknown, dataSize: number): TensorEntry {
  if (!isPlainObject(raw)) throw fail(file, name, 'the entry is not an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (!isSafetensorsDtype(dtype)) {
    throw fail(file, name, `unknown dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw fail(file, name, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw fail(file, name, `data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw fail(file, name, `data_offsets [${begin}, ${end}] end before they begin`);
  let numel = 1;
  for (const d of shape as number[]) numel *= d;
  const bytes = numel * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(bytes)) throw fail(file, name, `shape ${JSON.stringify(shape)} is impossibly large`);
  if (bytes !== end - begin) {
    throw fail(
      file,
      name,
      `dtype ${dtype} × shape ${JSON.stringify(shape)} is ${bytes} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  if (end > dataSize) {
    throw fail(file, name, `data_offsets [${begin}, ${end}] run past the end of the file (the data section is ${dataSize} bytes)`);
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** The spans must tile the data section exactly: sorted, no overlap, no gap, nothing left over. */
function checkLayout(file: string, entries: TensorEntry[], dataSize: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: string | null = null;
  for (const e of sorted) {
    if (e.begin < at) {
      throw fail(file, e.name, `its bytes [${e.begin}, ${e.end}] overlap tensor ${quoteName(previous ?? '')} (which ends at ${at})`);
    }
    if (e.begin > at) throw fail(file, e.name, `there is a gap of ${e.begin - at} unlisted bytes before it`);
    at = e.end;
    previous = e.name;
  }
  if (at !== dataSize) {
    throw fail(file, null, `${dataSize - at} bytes after the last tensor are not described by the header`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Reads and validates a file's header (two small reads); tensors are read later, one at a time. */
export async function readHeader(src: ByteSource): Promise<SafetensorsHeader> {
  if (src.size < 8) throw fail(src.name, null, `the file is ${src.size} bytes, too short for the 8-byte header length`);
  const n = headerLength(src.name, await src.read(0, 8), src.size);
  return parseHeader(src.name, await src.read(8, n), src.size);
}

/** One safetensors file opened for tensor-by-tensor reading. */
export class SafetensorsFile {
  private constructor(
    readonly source: ByteSource,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(source: ByteSource): Promise<SafetensorsFile> {
    return new SafetensorsFile(source, await readHeader(source));
  }

  get name(): string {
    return this.source.name;
  }

  get metadata(): Record<string, string> | null {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.header.tensors.values()].sort((a, b) => a.begin - b.begin).map((e) => e.name);
  }

  entry(name: string): TensorEntry | undefined {
    return this.header.tensors.get(name);
  }

  /** The raw little-endian bytes of one tensor. */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.header.tensors.get(name);
    if (!e) throw new AppError('safetensors', `${this.name}: there is no tensor ${quoteName(name)} in this file.`);
    const bytes = await this.source.read(this.header.dataStart + e.begin, e.end - e.begin);
    if (bytes.byteLength !== e.end - e.begin) {
      throw fail(this.name, name, `only ${bytes.byteLength} of ${e.end - e.begin} bytes could be read`);
    }
    return bytes;
  }

  /** One tensor widened to float32 (F32/F16/BF16/F64) or int32 (integers, BOOL). */
  async read(name: string): Promise<ReadTensor> {
    const bytes = await this.readBytes(name);
    const e = this.header.tensors.get(name) as TensorEntry;
    const values = widen(e.dtype, bytes);
    if ('error' in values) throw new AppError('safetensors', `${this.name}: tensor ${quoteName(name)}: ${values.error}.`);
    return { name, shape: e.shape, stored: e.dtype, values };
  }
}
