/**
 * `tensor-cache.json`: parsed and checked before any shard is read, and written back. Checked: the JSON
 * shape, shard file names (plain names, no paths), dtypes and formats web-llm decodes, `nbytes` = elements ×
 * element size, every record inside its shard without overlapping another, and unique names. A problem is an
 * AppError('mlc') naming the record (or shard) and what is wrong.
 *
 *   { "metadata": {…}, "records": [ { "dataPath": "params_shard_0.bin", "format": "raw-shard", "nbytes": N,
 *       "records": [ { "name", "shape", "dtype", "format", "nbytes", "byteOffset" }, … ] }, … ] }
 */
import { AppError } from '../errors.ts';
import { MLC_DTYPE_BYTES, TENSOR_CACHE_FILE, type MlcDtype, type MlcRecord, type MlcShard, type TensorCache } from './types.ts';

type Json = Record<string, unknown>;

/** Where a record lives: its shard and itself. */
export interface RecordLocation {
  shard: MlcShard;
  record: MlcRecord;
}

export function mlcError(where: string, problem: string): AppError {
  return new AppError('mlc', `${where}: ${problem}. The MLC model files are damaged or incomplete; download or export the model again.`);
}

const SHARD_NAME = /^[\w.-]+\.bin$/;

/** Validates a parsed tensor-cache.json (`label` names the model in messages). */
export function parseTensorCache(raw: unknown, label: string): TensorCache {
  const where = `${TENSOR_CACHE_FILE} of ${label}`;
  if (!isObject(raw)) throw mlcError(where, 'it is not a JSON object');
  const metadata = raw.metadata ?? {};
  if (!isObject(metadata)) throw mlcError(where, '"metadata" is not an object');
  if (!Array.isArray(raw.records)) throw mlcError(where, '"records" is not a list of shards');
  const names = new Set<string>();
  const paths = new Set<string>();
  const shards = raw.records.map((s, i): MlcShard => {
    if (!isObject(s)) throw mlcError(where, `shard ${i} is not an object`);
    const dataPath = s.dataPath;
    if (typeof dataPath !== 'string' || !SHARD_NAME.test(dataPath) || dataPath.startsWith('.')) {
      throw mlcError(where, `shard ${i} has dataPath ${JSON.stringify(dataPath)}; expected a file name such as params_shard_0.bin`);
    }
    if (paths.has(dataPath)) throw mlcError(where, `${dataPath} is listed twice`);
    paths.add(dataPath);
    if (s.format !== 'raw-shard') throw mlcError(where, `${dataPath} has format ${JSON.stringify(s.format)}; only "raw-shard" exists`);
    const nbytes = count(s.nbytes, `${dataPath} nbytes`, where);
    if (!Array.isArray(s.records)) throw mlcError(where, `${dataPath} has no "records" list`);
    const records = s.records.map((r, j) => parseRecord(r, `${dataPath} record ${j}`, where));
    for (const r of records) {
      if (names.has(r.name)) throw mlcError(where, `parameter ${JSON.stringify(r.name)} is listed twice`);
      names.add(r.name);
      if (r.byteOffset + r.nbytes > nbytes) {
        throw mlcError(where, `parameter ${JSON.stringify(r.name)} spans bytes ${r.byteOffset}–${r.byteOffset + r.nbytes}, past the end of ${dataPath} (${nbytes} bytes)`);
      }
    }
    const sorted = [...records].sort((a, b) => a.byteOffset - b.byteOffset);
    for (let k = 1; k < sorted.length; k++) {
      if (sorted[k].byteOffset < sorted[k - 1].byteOffset + sorted[k - 1].nbytes) {
        throw mlcError(where, `parameters ${JSON.stringify(sorted[k - 1].name)} and ${JSON.stringify(sorted[k].name)} overlap in ${dataPath}`);
      }
    }
    const shard: MlcShard = { dataPath, format: 'raw-shard', nbytes, records };
    if (typeof s.md5sum === 'string') shard.md5sum = s.md5sum;
    return shard;
  });
  return { metadata, records: shards };
}

function parseRecord(r: unknown, what: string, where: string): MlcRecord {
  if (!isObject(r)) throw mlcError(where, `${what} is not an object`);
  const name = r.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 300) throw mlcError(where, `${what} has no valid "name"`);
  const at = `parameter ${JSON.stringify(name)}`;
  if (!Array.isArray(r.shape)) throw mlcError(where, `${at} has no "shape" list`);
  const shape = r.shape.map((d) => count(d, `${at} shape`, where));
  const dtype = r.dtype;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(MLC_DTYPE_BYTES, dtype)) {
    throw mlcError(where, `${at} has dtype ${JSON.stringify(dtype)}; this runtime reads ${Object.keys(MLC_DTYPE_BYTES).join(', ')}`);
  }
  const format = r.format ?? 'raw';
  if (format !== 'raw' && format !== 'f32-to-bf16') throw mlcError(where, `${at} has format ${JSON.stringify(format)}; expected "raw" or "f32-to-bf16"`);
  if (format === 'f32-to-bf16' && dtype !== 'float32') throw mlcError(where, `${at} is ${dtype} stored as "f32-to-bf16", which only float32 uses`);
  const nbytes = count(r.nbytes, `${at} nbytes`, where);
  const byteOffset = count(r.byteOffset, `${at} byteOffset`, where);
  const want = expectedBytes(shape, dtype as MlcDtype, format);
  if (nbytes !== want) {
    throw mlcError(where, `${at} has nbytes ${nbytes}, but shape [${shape.join(', ')}] of ${dtype}${format === 'f32-to-bf16' ? ' (stored as bfloat16)' : ''} takes ${want}`);
  }
  return { name, shape, dtype: dtype as MlcDtype, format, nbytes, byteOffset };
}

/** Bytes a record of this shape, dtype and format takes in its shard. */
export function expectedBytes(shape: readonly number[], dtype: MlcDtype, format: MlcRecord['format']): number {
  const n = shape.reduce((a, b) => a * b, 1);
  return n * (format === 'f32-to-bf16' ? 2 : MLC_DTYPE_BYTES[dtype]);
}

/** Record name → where it is. */
export function indexRecords(tc: TensorCache): Map<string, RecordLocation> {
  const out = new Map<string, RecordLocation>();
  for (const shard of tc.records) for (const record of shard.records) out.set(record.name, { shard, record });
  return out;
}

/** The JSON text of a tensor cache (indented like tvmjs writes it). */
export function serializeTensorCache(tc: TensorCache): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(tc, null, 4));
}

function count(v: unknown, what: string, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw mlcError(where, `${what} is ${JSON.stringify(v)}; expected a whole number ≥ 0`);
  return v;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
