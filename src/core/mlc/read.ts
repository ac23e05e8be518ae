/**
 * Reading an MLC model folder: `openMlcModel` parses mlc-chat-config.json and tensor-cache.json and checks
 * every record against the parameters the config implies (names, shapes, dtypes), and the HF tensors those
 * records un-fuse into through validateModelTensors (the pass every model source goes through), before a
 * shard is opened;
 * `mlcHfTensors` then yields the weights one MLC parameter at a time as Hugging Face tensors (float32,
 * HF names and [out, in] layout): q4 matrices dequantized, fused q/k/v and gate/up split by the config's
 * head counts and sizes. Those are exactly the values web-llm computes with (q4: QLoRA-style frozen base).
 */
import { AppError, throwIfAborted } from '../errors.ts';
import { readJson, type ModelSource, type OpenOptions } from '../io/model-source.ts';
import type { PlainTensor } from '../lora/tensor-data.ts';
import { validateModelTensors, type TensorDescriptor } from '../model/validate.ts';
import { parseMlcChatConfig, type MlcChatConfig } from './chat-config.ts';
import { decodeFloats, decodeWords } from './codec.ts';
import { mlcParams, storedTensors, unfuse, type MlcParam } from './layout.ts';
import { indexRecords, parseTensorCache, type RecordLocation } from './manifest.ts';
import { dequantizeQ4 } from './q4.ts';
import { MlcShardReader } from './shards.ts';
import { CHAT_CONFIG_FILE, LEGACY_TENSOR_CACHE_FILE, quantScheme, TENSOR_CACHE_FILE, type QuantScheme, type TensorCache } from './types.ts';

/** An MLC folder whose config and index agree; no weight has been read yet. */
export interface MlcModel {
  source: ModelSource;
  chat: MlcChatConfig;
  tensorCache: TensorCache;
  scheme: QuantScheme;
  params: MlcParam[];
  /** Record name → shard and record. */
  locations: Map<string, RecordLocation>;
}

/** The two JSON files, parsed and checked against each other (pure: a validator can call it on parsed JSON). */
export function checkMlcModel(chatRaw: unknown, tensorCacheRaw: unknown, label: string): Omit<MlcModel, 'source'> {
  const chat = parseMlcChatConfig(chatRaw, label);
  const tensorCache = parseTensorCache(tensorCacheRaw, label);
  const scheme = quantScheme(chat.quantization);
  const params = mlcParams(chat.config);
  const locations = indexRecords(tensorCache);
  const expected = new Set<string>();
  const c = chat.config;
  const what = `${c.architecture}, ${c.numLayers} layers, hidden ${c.hiddenSize}${c.tieWordEmbeddings ? ', tied embeddings' : ''}, ${chat.quantization}`;
  for (const p of params) {
    for (const want of storedTensors(p, scheme)) {
      expected.add(want.name);
      const loc = locations.get(want.name);
      if (!loc) {
        throw new AppError('mlc', `${TENSOR_CACHE_FILE} of ${label} has no record "${want.name}", which ${CHAT_CONFIG_FILE} (${what}) requires. The MLC files are incomplete or belong to another model.`);
      }
      const r = loc.record;
      const sameShape = r.shape.length === want.shape.length && r.shape.every((d, i) => d === want.shape[i]);
      if (!sameShape || r.dtype !== want.dtype) {
        throw new AppError(
          'model-config',
          `${label}: "${want.name}" is [${r.shape.join(', ')}] ${r.dtype}, but ${CHAT_CONFIG_FILE} (${what}) implies [${want.shape.join(', ')}] ${want.dtype}. The weights do not belong to this config.`,
        );
      }
    }
  }
  for (const name of locations.keys()) {
    if (!expected.has(name)) {
      throw new AppError('model-config', `${label}: ${TENSOR_CACHE_FILE} has "${name}", which a model of ${CHAT_CONFIG_FILE} (${what}) does not have. The weights do not belong to this config.`);
    }
  }
  // The same validation pass as every other source: the HF tensors these records un-fuse and dequantize into.
  validateModelTensors(c, hfDescriptors(params, label));
  return { chat, tensorCache, scheme, params, locations };
}

/** The HF tensors (name, shape; float32 once read) that MLC parameters un-fuse into, as the validator takes them. */
export function hfDescriptors(params: readonly MlcParam[], file: string): TensorDescriptor[] {
  return params.flatMap((p) => p.parts.map((part) => ({ name: part.hf, shape: p.shape.length === 2 ? [part.rows, p.shape[1]] : [part.rows], dtype: 'F32', file })));
}

/** Reads and checks an MLC folder's index and config. */
export async function openMlcModel(source: ModelSource, o: OpenOptions = {}): Promise<MlcModel> {
  const chatRaw = await readJson(source, CHAT_CONFIG_FILE, true, o);
  const tcRaw = (await readJson(source, TENSOR_CACHE_FILE, false, o)) ?? (await readJson(source, LEGACY_TENSOR_CACHE_FILE, false, o));
  if (tcRaw === null) throw new AppError('not-found', `${source.label} has no ${TENSOR_CACHE_FILE} (nor ${LEGACY_TENSOR_CACHE_FILE}). An MLC model folder needs its weights' index.`);
  return { source, ...checkMlcModel(chatRaw, tcRaw, source.label) };
}

/** One parameter's values as float32, [rows, cols] (HF layout) or [n], dequantized when q4. */
export async function readMlcParam(m: MlcModel, p: MlcParam, reader: MlcShardReader): Promise<Float32Array> {
  const stored = storedTensors(p, m.scheme);
  const locate = (name: string): RecordLocation => m.locations.get(name) as RecordLocation; // checked by checkMlcModel
  if (stored.length === 1) {
    const loc = locate(stored[0].name);
    return decodeFloats(await reader.read(loc), loc.record);
  }
  const [qw, qs] = stored.map(({ name }) => locate(name));
  const words = decodeWords(await reader.read(qw));
  const scales = decodeFloats(await reader.read(qs), qs.record);
  const [rows, cols] = p.shape;
  return dequantizeQ4(words, scales, rows, cols, m.scheme.modelDtype);
}

export interface HfTensor extends PlainTensor {
  name: string;
}

/** Every HF tensor of the model, one MLC parameter at a time (fused parameters yield their parts). */
export async function* mlcHfTensors(m: MlcModel, o: OpenOptions = {}): AsyncGenerator<HfTensor> {
  const reader = new MlcShardReader(m.source, o);
  // Parameters in shard order, so a disk- or network-backed source is read front to back.
  const order = [...m.params].sort((a, b) => position(m, a) - position(m, b));
  for (const p of order) {
    throwIfAborted(o.signal);
    const values = await readMlcParam(m, p, reader);
    for (const part of unfuse(p, values)) yield { name: part.hf, shape: part.shape, data: part.data };
  }
}

function position(m: MlcModel, p: MlcParam): number {
  const loc = m.locations.get(storedTensors(p, m.scheme)[0].name) as RecordLocation;
  return m.tensorCache.records.indexOf(loc.shard) * 2 ** 40 + loc.record.byteOffset;
}

/** The whole model: config and every weight as HF-named float32 tensors (for tests, the CLI, merging). */
export async function readMlcModel(source: ModelSource, o: OpenOptions = {}): Promise<{ model: MlcModel; tensors: Map<string, PlainTensor> }> {
  const model = await openMlcModel(source, o);
  const tensors = new Map<string, PlainTensor>();
  for await (const t of mlcHfTensors(model, o)) tensors.set(t.name, { shape: t.shape, data: t.data });
  return { model, tensors };
}
