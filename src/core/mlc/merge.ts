/**
 * Merging a LoRA adapter into MLC weights: W' = W + s·B·A for every adapted projection, written back into
 * the fused parameter at the projection's rows (q, k, v in qkv_proj / c_attn; gate, up in gate_up_proj).
 *
 * - q0 (float16 / float32): the merged values are stored in the base record's own dtype and format, so the
 *   result is W + s·B·A to the precision of that dtype.
 * - q4: only the rows an adapter touches are requantized (groups run along a row, so rows are independent);
 *   every other row, and every parameter no adapter touches, keeps the base's bytes exactly. Requantizing
 *   loses part of s·B·A: the report says how much survived, in weights (here) and in logits (retention.ts).
 *
 * The output keeps the base's record names, shapes, dtypes and formats, so web-llm runs it with the base
 * model's library. mlc-chat-config.json and the tokenizer files are copied unchanged.
 */
import { AppError, throwIfAborted } from '../errors.ts';
import { mergeLoraPlain } from '../lora/merge.ts';
import type { LoraPlainPair, PlainTensor } from '../lora/tensor-data.ts';
import { decodeFloats, decodeWords, encodeFloats, encodeWords } from './codec.ts';
import { MLC_TOKENIZER_FILES } from './export.ts';
import { fuse, storedTensors, unfuse, type MlcParam } from './layout.ts';
import { serializeTensorCache, type RecordLocation } from './manifest.ts';
import { dequantizeQ4, q4Dims, quantizeQ4 } from './q4.ts';
import { readMlcParam, type MlcModel } from './read.ts';
import { ShardWriter, MlcShardReader } from './shards.ts';
import { CHAT_CONFIG_FILE, TENSOR_CACHE_FILE, type MlcFileMap, type MlcQuantization } from './types.ts';

/** Adapter weights as plain arrays by module path (`model.layers.0.self_attn.q_proj`), with their scaling. */
export interface PlainAdapter {
  modules: ReadonlyMap<string, LoraPlainPair>;
  scaling: number;
}

export interface MlcMergeReport {
  quantization: MlcQuantization;
  /** q0: the merged weights are W + s·B·A to the stored dtype's precision. */
  exact: boolean;
  mergedModules: number;
  /** Rows requantized (q4) or re-encoded (q0) because an adapter changed them. */
  changedRows: number;
  /**
   * Weight-level retention: ⟨ΔW_stored, ΔW⟩ / ‖ΔW‖² over every adapted projection, where ΔW = s·B·A and
   * ΔW_stored = (what the merged files hold) − (what the base files hold). 1 = all of the change survived.
   */
  weightKept: number;
  /** ‖ΔW_stored − ΔW‖ / ‖ΔW‖: the part of the change lost or distorted by storing it. */
  weightError: number;
}

export interface MlcMergeOptions {
  signal?: AbortSignal;
  /** Called after each parameter with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** New MLC files: the base with the adapter merged in, plus what survived of it. */
export async function mergeIntoMlc(base: MlcModel, adapter: PlainAdapter, o: MlcMergeOptions = {}): Promise<{ files: MlcFileMap; report: MlcMergeReport }> {
  const byHf = new Map<string, LoraPlainPair>();
  for (const [module, pair] of adapter.modules) byHf.set(`${module}.weight`, pair);
  const known = new Set(base.params.flatMap((p) => p.parts.map((x) => x.hf)));
  for (const name of byHf.keys()) {
    if (!known.has(name) || !/\.(q|k|v|o|gate|up|down)_proj\.weight$/.test(name)) {
      throw new AppError('adapter-mismatch', `This adapter does not fit the model: it adapts ${name.replace(/\.weight$/, '')}, which ${base.source.label} does not have.`);
    }
  }
  const reader = new MlcShardReader(base.source, { signal: o.signal });
  const files: MlcFileMap = new Map();
  const writer = new ShardWriter((path, bytes) => void files.set(path, bytes));
  const stats = { dot: 0, norm: 0, err: 0, rows: 0 };
  let done = 0;
  for (const p of base.params) {
    throwIfAborted(o.signal);
    const touched = p.parts.filter((part) => byHf.has(part.hf));
    const records = storedTensors(p, base.scheme).map((s) => base.locations.get(s.name) as RecordLocation);
    if (touched.length === 0) {
      for (const loc of records) await writer.add(recordOf(loc), await reader.read(loc));
    } else {
      await writeMerged(base, p, records, byHf, adapter.scaling, reader, writer, stats);
    }
    o.onProgress?.(++done, base.params.length);
  }
  const tc = await writer.finish(base.tensorCache.metadata);
  files.set(TENSOR_CACHE_FILE, serializeTensorCache(tc));
  for (const name of [CHAT_CONFIG_FILE, ...MLC_TOKENIZER_FILES, ...base.chat.tokenizerFiles]) {
    if (files.has(name)) continue;
    const f = await base.source.open(name, { signal: o.signal });
    if (f) files.set(name, await f.read(0, f.size));
  }
  const exact = base.scheme.weights === 'q0';
  return {
    files,
    report: {
      quantization: base.scheme.name,
      exact,
      mergedModules: byHf.size,
      changedRows: stats.rows,
      weightKept: stats.norm > 0 ? stats.dot / stats.norm : 1,
      weightError: stats.norm > 0 ? Math.sqrt(stats.err / stats.norm) : 0,
    },
  };
}

function recordOf({ record }: RecordLocation) {
  return { name: record.name, shape: record.shape, dtype: record.dtype, format: record.format };
}

/** Rows of the parameter an adapter changes: [first, end) per touched part. */
function touchedRows(p: MlcParam, byHf: ReadonlyMap<string, unknown>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let row = 0;
  for (const part of p.parts) {
    if (byHf.has(part.hf)) out.push([row, row + part.rows]);
    row += part.rows;
  }
  return out;
}

async function writeMerged(
  base: MlcModel,
  p: MlcParam,
  records: RecordLocation[],
  byHf: ReadonlyMap<string, LoraPlainPair>,
  scaling: number,
  reader: MlcShardReader,
  writer: ShardWriter,
  stats: { dot: number; norm: number; err: number; rows: number },
): Promise<void> {
  const [rows, cols] = p.shape;
  const before = await readMlcParam(base, p, reader); // [rows, cols] as web-llm computes with it
  const parts = new Map<string, PlainTensor>(unfuse(p, before).map((t) => [t.hf, { shape: t.shape, data: t.data }]));
  const adapters = new Map<string, LoraPlainPair>();
  for (const part of p.parts) {
    const pair = byHf.get(part.hf);
    if (pair) adapters.set(part.hf.replace(/\.weight$/, ''), pair);
  }
  const merged = mergeLoraPlain(parts, adapters, scaling); // W + s·B·A per part, in float32
  const target = fuse(p, new Map([...merged].map(([k, v]) => [k, v.data])));
  const spans = touchedRows(p, byHf);
  let stored: Float32Array;
  if (records.length === 1) {
    const [loc] = records;
    const bytes = encodeFloats(target, loc.record);
    stored = decodeFloats(bytes, loc.record);
    await writer.add(recordOf(loc), bytes);
  } else {
    // q4: requantize the touched rows, keep every other row's words and scale as they were.
    const [qw, qs] = records;
    const words = decodeWords(await reader.read(qw));
    const scales = decodeFloats(await reader.read(qs), qs.record);
    const { words: W, groups: G } = q4Dims(cols);
    const dtype = base.scheme.modelDtype;
    for (const [r0, r1] of spans) {
      const q = quantizeQ4(target.subarray(r0 * cols, r1 * cols), r1 - r0, cols, dtype);
      words.set(q.qWeight, r0 * W);
      scales.set(q.qScale, r0 * G);
    }
    const scaleBytes = encodeFloats(scales, qs.record);
    const storedScales = decodeFloats(scaleBytes, qs.record);
    stored = dequantizeQ4(words, storedScales, rows, cols, dtype);
    await writer.add(recordOf(qw), encodeWords(words));
    await writer.add(recordOf(qs), scaleBytes);
  }
  for (const [r0, r1] of spans) {
    stats.rows += r1 - r0;
    for (let i = r0 * cols; i < r1 * cols; i++) {
      const want = target[i] - before[i];
      const got = stored[i] - before[i];
      stats.dot += got * want;
      stats.norm += want * want;
      stats.err += (got - want) * (got - want);
    }
  }
}
