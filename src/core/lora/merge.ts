/**
 * Merging an adapter into its base model: W' = W + scaling · B·A for every adapted projection
 * (W [out, in], B [out, r], A [r, in]), the rest copied unchanged, written as one full `model.safetensors`
 * with the base model's config and tokenizer files next to it.
 */
import { AppError } from '../errors.ts';
import { writeSafetensors, type SafetensorsDtype } from '../io/safetensors-write.ts';
import { loraToPlain, type LoraPlainPair, type PlainTensor } from './tensor-data.ts';
import type { LoraWeights } from './types.ts';

/** Merged weights from plain tensors. Inputs are not modified; adapted weights are new arrays. */
export function mergeLoraPlain(
  base: ReadonlyMap<string, PlainTensor>,
  adapter: ReadonlyMap<string, LoraPlainPair>,
  scaling: number,
): Map<string, PlainTensor> {
  const out = new Map<string, PlainTensor>(base);
  for (const [module, { a, b }] of adapter) {
    const name = `${module}.weight`;
    const w = base.get(name);
    if (!w) throw new AppError('adapter-mismatch', `The base model has no tensor "${name}" for the adapter's ${module}.`);
    const [out_, in_] = w.shape;
    const r = a.shape[0];
    if (w.shape.length !== 2 || a.shape[1] !== in_ || b.shape[0] !== out_ || b.shape[1] !== r) {
      throw new AppError(
        'adapter-mismatch',
        `Adapter ${module}: A [${a.shape.join(', ')}] and B [${b.shape.join(', ')}] do not fit the base weight ` +
          `"${name}" [${w.shape.join(', ')}]; the adapter was made for a different model.`,
      );
    }
    const merged = Float32Array.from(w.data);
    const row = new Float64Array(in_);
    for (let o = 0; o < out_; o++) {
      row.fill(0);
      for (let k = 0; k < r; k++) {
        const s = b.data[o * r + k];
        if (s === 0) continue;
        const aRow = k * in_;
        for (let i = 0; i < in_; i++) row[i] += s * a.data[aRow + i];
      }
      const base0 = o * in_;
      for (let i = 0; i < in_; i++) merged[base0 + i] += scaling * row[i];
    }
    out.set(name, { shape: [out_, in_], data: merged });
  }
  return out;
}

/** Merged weights for trained (or loaded) LoRA weights. */
export async function mergeLora(
  base: ReadonlyMap<string, PlainTensor>,
  weights: LoraWeights,
): Promise<Map<string, PlainTensor>> {
  return mergeLoraPlain(base, await loraToPlain(weights), weights.scaling);
}

export interface MergedModelOptions {
  /** Files copied from the base model folder (config.json, tokenizer.json, tokenizer_config.json, …). */
  extraFiles?: ReadonlyMap<string, Uint8Array>;
  /** Output dtype (default F32). */
  dtype?: SafetensorsDtype;
}

const DTYPE_NAMES: Record<SafetensorsDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * The files of a base model folder that a merged model keeps next to its weights: config, generation settings,
 * tokenizer and chat template (whichever the base has).
 */
export const MERGED_MODEL_COPIED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
] as const;

/** A full model folder: `model.safetensors` plus the copied files; config.json's torch_dtype follows `dtype`. */
export function mergedModelFiles(merged: ReadonlyMap<string, PlainTensor>, options: MergedModelOptions = {}): Map<string, Uint8Array> {
  const dtype = options.dtype ?? 'F32';
  const files = mergedModelExtraFiles(options.extraFiles ?? new Map(), dtype);
  files.set('model.safetensors', writeSafetensors(merged, { dtype, metadata: { format: 'pt' } }));
  return files;
}

/**
 * The base folder's files as the merged model keeps them: weights files (model*.safetensors and the shard
 * index) left out, config.json's torch_dtype (and dtype) set to the merged weights' dtype, the rest as is.
 */
export function mergedModelExtraFiles(extraFiles: ReadonlyMap<string, Uint8Array>, dtype: SafetensorsDtype): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [name, bytes] of extraFiles) {
    if (name === 'model.safetensors' || name.startsWith('model-') || name === 'model.safetensors.index.json') continue;
    if (name === 'config.json') {
      let config: Record<string, unknown>;
      try {
        config = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      } catch (e) {
        throw new AppError('model-config', 'The base model config.json is not valid JSON; cannot write the merged model.', { cause: e });
      }
      config.torch_dtype = DTYPE_NAMES[dtype];
      if ('dtype' in config) config.dtype = DTYPE_NAMES[dtype];
      files.set(name, new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
    } else {
      files.set(name, bytes);
    }
  }
  return files;
}
