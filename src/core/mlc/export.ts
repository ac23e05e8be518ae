/**
 * A Hugging Face model → MLC files in any of the four quantizations, as mlc-llm's convert_weight +
 * gen_config lay them out: q/k/v and gate/up fused in MLC's order, q4 matrices group-quantized, the rest in
 * the model dtype. One difference on purpose: float32 records are written `raw`, not `f32-to-bf16` as
 * tvmjs does by default, so a q0f32 export holds the exact float32 weights (web-llm reads both formats).
 *
 * `npm run -s lm -- mlc-export` writes these files; the tests make their MLC fixtures with it.
 */
import { AppError } from '../errors.ts';
import type { ModelSource } from '../io/model-source.ts';
import type { PlainTensor } from '../lora/tensor-data.ts';
import type { LanguageModel } from '../model/load.ts';
import { hfWeightEntries } from '../model/weights.ts';
import type { ModelConfig } from '../model/types.ts';
import { buildMlcChatConfig } from './chat-config.ts';
import { encodeFloats, encodeWords } from './codec.ts';
import { fuse, mlcParams, storedTensors, type MlcParam } from './layout.ts';
import { serializeTensorCache } from './manifest.ts';
import { quantizeQ4 } from './q4.ts';
import { ShardWriter } from './shards.ts';
import { CHAT_CONFIG_FILE, quantScheme, TENSOR_CACHE_FILE, type MlcDtype, type MlcFileMap, type MlcQuantization, type QuantScheme, type TensorCache } from './types.ts';

/** A model in Hugging Face terms: its config, every weight by HF name ([out, in] layout) and its tokenizer files. */
export interface HfModel {
  config: ModelConfig;
  tensors: ReadonlyMap<string, PlainTensor>;
  /** tokenizer.json, tokenizer_config.json and the other tokenizer files the folder has. */
  tokenizerFiles: ReadonlyMap<string, Uint8Array>;
}

/** Tokenizer files mlc-llm's gen_config copies next to the weights (when the folder has them). */
export const MLC_TOKENIZER_FILES = ['tokenizer.model', 'tokenizer.json', 'vocab.json', 'merges.txt', 'added_tokens.json', 'tokenizer_config.json'] as const;

/** One encoded record of a parameter, ready for a shard. */
export interface EncodedRecord {
  name: string;
  shape: number[];
  dtype: MlcDtype;
  format: 'raw';
  bytes: Uint8Array;
}

/** A parameter's float32 values ([rows, cols] or [n]) as the records a scheme stores (raw: float32 stays exact). */
export function encodeParam(p: MlcParam, values: Float32Array, scheme: QuantScheme): EncodedRecord[] {
  const stored = storedTensors(p, scheme);
  if (stored.length === 1) return [{ ...stored[0], format: 'raw', bytes: encodeFloats(values, { dtype: stored[0].dtype, format: 'raw' }) }];
  const [w, sc] = stored;
  const [rows, cols] = p.shape;
  const { qWeight, qScale } = quantizeQ4(values, rows, cols, scheme.modelDtype);
  return [
    { ...w, format: 'raw', bytes: encodeWords(qWeight) },
    { ...sc, format: 'raw', bytes: encodeFloats(qScale, { dtype: sc.dtype, format: 'raw' }) },
  ];
}

/** Writes params through a ShardWriter into a file map (shards + tensor-cache.json); `valuesOf` gives each one's values. */
export async function writeMlcWeights(params: readonly MlcParam[], scheme: QuantScheme, valuesOf: (p: MlcParam) => Float32Array, files: MlcFileMap): Promise<TensorCache> {
  const writer = new ShardWriter((path, bytes) => void files.set(path, bytes));
  let bytes = 0;
  let count = 0;
  let elements = 0;
  for (const p of params) {
    for (const r of encodeParam(p, valuesOf(p), scheme)) {
      await writer.add({ name: r.name, shape: r.shape, dtype: r.dtype, format: r.format }, r.bytes);
      bytes += r.bytes.byteLength;
      count++;
    }
    elements += p.shape.reduce((a, b) => a * b, 1);
  }
  const tc = await writer.finish({ ParamSize: count, ParamBytes: bytes, BitsPerParam: (bytes * 8) / elements });
  files.set(TENSOR_CACHE_FILE, serializeTensorCache(tc));
  return tc;
}

/** MLC files (mlc-chat-config.json, tensor-cache.json, shards, tokenizer files) for an HF model. */
export async function exportMlc(hf: HfModel, quantization: MlcQuantization): Promise<MlcFileMap> {
  const scheme = quantScheme(quantization);
  const params = mlcParams(hf.config);
  const files: MlcFileMap = new Map();
  const tokenizerJson = hf.tokenizerFiles.get('tokenizer.json');
  if (!tokenizerJson) throw new AppError('not-found', 'The model has no tokenizer.json; web-llm needs it next to the MLC weights.');
  const tokenizerNames = MLC_TOKENIZER_FILES.filter((n) => hf.tokenizerFiles.has(n));
  for (const n of tokenizerNames) files.set(n, hf.tokenizerFiles.get(n) as Uint8Array);
  const chat = buildMlcChatConfig(hf.config, {
    quantization,
    tokenizerFiles: [...tokenizerNames],
    tokenizerJson: JSON.parse(new TextDecoder().decode(tokenizerJson)) as unknown,
  });
  files.set(CHAT_CONFIG_FILE, new TextEncoder().encode(JSON.stringify(chat, null, 2)));
  await writeMlcWeights(params, scheme, (p) => fuse(p, partsOf(p, hf.tensors)), files);
  return files;
}

function partsOf(p: MlcParam, tensors: ReadonlyMap<string, PlainTensor>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const part of p.parts) {
    const t = tensors.get(part.hf);
    if (!t) throw new AppError('model-config', `The model has no tensor ${part.hf}, which its config requires.`);
    out.set(part.hf, t.data);
  }
  return out;
}

/** A loaded model as an HfModel: its weights read back in HF names and layouts, its folder's tokenizer files. */
export async function hfModelOf(model: LanguageModel, source: ModelSource): Promise<HfModel> {
  const tensors = new Map<string, PlainTensor>();
  for (const { name, tensor } of hfWeightEntries(model.config, model.weights)) {
    try {
      tensors.set(name, { shape: [...tensor.shape], data: Float32Array.from((await tensor.data()) as Float32Array) });
    } finally {
      tensor.dispose();
    }
  }
  const tokenizerFiles = new Map<string, Uint8Array>();
  for (const name of MLC_TOKENIZER_FILES) {
    const f = await source.open(name);
    if (f) tokenizerFiles.set(name, await f.read(0, f.size));
  }
  return { config: model.config, tensors, tokenizerFiles };
}
