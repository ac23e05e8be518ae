/**
 * The one validation pass every model source goes through (hub, URL, folder, dropped files; MLC files can be
 * passed through it with their own expected list), in two steps, both before any weight is allocated:
 *
 * 1. `checkConfigBounds`: the parsed config's sizes against MODEL_BOUNDS (below), so an absurd config.json
 *    (a billion layers, a vocabulary of 10¹²) is refused at once instead of growing the process until it dies.
 * 2. `validateModelTensors`: the config against the tensors the checkpoint's headers describe
 *    (name, shape, dtype): every expected tensor present with its shape and a float dtype, and no tensor the
 *    config does not account for. Rules, in the order they are checked:
 *    - a name in two files (shards) is refused;
 *    - every tensor the config implies must be there (e.g. `lm_head.weight` when embeddings are untied);
 *    - `tie_word_embeddings: true` with an `lm_head.*` tensor present is refused: a tied model has no separate
 *      head, and loading either of the two would silently compute another model than the file holds;
 *    - shapes must be exactly the ones the config implies; dtypes must be F32, F16, BF16 or F64;
 *    - a tensor of a layer at or past `num_hidden_layers` is refused, saying how many layers the file holds
 *      (fewer layers in the config than in the file would silently drop the rest);
 *    - any other tensor the config does not account for is refused, except non-learned buffers that some
 *      checkpoints carry (`rotary_emb.inv_freq`, recomputed from the config).
 *
 * The values themselves are checked as they are read (see weights-load.ts and io/finite.ts).
 */
import { AppError } from '../errors.ts';
import type { ModelConfig } from './types.ts';
import { hfTensorSpecs } from './weights.ts';

/**
 * Largest values accepted in a config.json, each well above every model of the supported families (the
 * largest known value in brackets) and small enough that a wrong one is refused before it costs memory.
 */
export const MODEL_BOUNDS = {
  /** num_hidden_layers [Llama 3.1 405B: 126] */
  numLayers: 512,
  /** hidden_size [405B: 16 384] */
  hiddenSize: 65_536,
  /** intermediate_size [405B: 53 248] */
  intermediateSize: 262_144,
  /** num_attention_heads, num_key_value_heads [405B: 128] */
  numHeads: 1024,
  /** head_dim [64–256 in practice] */
  headDim: 1024,
  /** vocab_size [Qwen2.5/3: 151 936; the largest tokenizers: 262 144] */
  vocabSize: 2_097_152,
  /** max_position_embeddings, the context length [Qwen2.5-1M: 1 010 000] */
  maxPositionEmbeddings: 16_777_216,
  /** rope_theta [Qwen2.5-1M: 10 000 000] */
  ropeTheta: 1e12,
  /** rope_scaling factor [Llama 3.1: 8; Llama 3.2: 32] */
  ropeFactor: 1024,
  /** rms_norm_eps: above 0 and below this */
  rmsNormEps: 1,
} as const;

/** One tensor as a file's header describes it, before anything is read. */
export interface TensorDescriptor {
  name: string;
  shape: readonly number[];
  /** As the format names it: "F32", "BF16", … */
  dtype: string;
  /** The file holding it, for messages. */
  file: string;
}

/** A tensor the config implies, in the checkpoint's naming and layout. */
export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

export interface TensorCheckOptions {
  /** What the config implies (default: the Hugging Face names and shapes of hfTensorSpecs). */
  expected?: readonly ExpectedTensor[];
  /** Accepted dtypes (default F32, F16, BF16, F64). */
  dtypes?: readonly string[];
  /** Tensors that may be present without being expected (default: rotary_emb.inv_freq buffers). */
  ignore?: (name: string) => boolean;
}

const FLOAT_DTYPES = ['F32', 'F16', 'BF16', 'F64'];
const BUFFER = /(^|\.)rotary_emb\.inv_freq$/;
const LAYER = /(?:^|\.)layers\.(\d+)\./;

/** Throws AppError('model-config') when a size in the parsed config is out of MODEL_BOUNDS. */
export function checkConfigBounds(c: ModelConfig): void {
  const B = MODEL_BOUNDS;
  const within = (key: string, v: number, max: number) => {
    if (!(v <= max)) bad(`${key} is ${v}; at most ${max} is accepted`);
  };
  within('num_hidden_layers', c.numLayers, B.numLayers);
  within('hidden_size', c.hiddenSize, B.hiddenSize);
  within('intermediate_size', c.intermediateSize, B.intermediateSize);
  within('num_attention_heads', c.numHeads, B.numHeads);
  within('num_key_value_heads', c.numKvHeads, c.numHeads);
  within('head_dim', c.headDim, B.headDim);
  within('vocab_size', c.vocabSize, B.vocabSize);
  within('max_position_embeddings', c.maxPositionEmbeddings, B.maxPositionEmbeddings);
  within('rope_theta', c.ropeTheta, B.ropeTheta);
  if (!(c.rmsNormEps > 0 && c.rmsNormEps < B.rmsNormEps)) bad(`rms_norm_eps is ${c.rmsNormEps}; expected a number between 0 and ${B.rmsNormEps}`);
  const s = c.ropeScaling;
  if (s.type !== 'default') within('rope_scaling factor', s.factor, B.ropeFactor);
  if (s.type === 'llama3') within('rope_scaling original_max_position_embeddings', s.originalMaxPositionEmbeddings, B.maxPositionEmbeddings);
}

/** Checks the checkpoint's tensors (from its headers) against the config; see the rules above. */
export function validateModelTensors(c: ModelConfig, present: readonly TensorDescriptor[], o: TensorCheckOptions = {}): void {
  const byName = new Map<string, TensorDescriptor>();
  for (const t of present) {
    const other = byName.get(t.name);
    if (other) throw new AppError('safetensors', `Tensor ${JSON.stringify(t.name)} is in both ${other.file} and ${t.file}. The checkpoint's shards are inconsistent; download it again.`);
    byName.set(t.name, t);
  }
  const expected = o.expected ?? hfTensorSpecs(c).map((s) => ({ name: s.name, shape: s.hfShape }));
  const dtypes = o.dtypes ?? FLOAT_DTYPES;
  const ignore = o.ignore ?? ((name: string) => BUFFER.test(name));

  for (const e of expected) {
    if (!byName.has(e.name)) {
      throw new AppError(
        'model-config',
        `The checkpoint has no tensor ${e.name}, which config.json (${c.architecture}, ${c.numLayers} layers${c.tieWordEmbeddings ? ', tied embeddings' : ''}) requires. The weights do not belong to this config.`,
      );
    }
  }
  if (c.tieWordEmbeddings) {
    const head = present.find((t) => t.name.startsWith('lm_head.'));
    if (head) {
      throw new AppError(
        'model-config',
        `config.json says tie_word_embeddings: true, but ${head.file} also holds ${head.name}. A tied model has no separate LM head: set tie_word_embeddings to false if the head was trained on its own, or remove ${head.name}.`,
      );
    }
  }
  for (const e of expected) {
    const t = byName.get(e.name) as TensorDescriptor;
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new AppError('model-config', `${t.file}: tensor ${e.name} has shape [${t.shape.join(', ')}], but config.json implies [${e.shape.join(', ')}]. The weights do not belong to this config.`);
    }
    if (!dtypes.includes(t.dtype)) {
      throw new AppError('unsupported', `unsupported: ${t.file}: tensor ${e.name} is stored as ${t.dtype}. Only ${listOf(dtypes)} (unquantized) checkpoints can be loaded.`);
    }
  }
  const wanted = new Set(expected.map((e) => e.name));
  const extra = present.filter((t) => !wanted.has(t.name) && !ignore(t.name));
  if (extra.length === 0) return;
  const layers = Math.max(...present.map((t) => Number(LAYER.exec(t.name)?.[1] ?? -1))) + 1;
  if (layers > c.numLayers) {
    const first = extra.find((t) => Number(LAYER.exec(t.name)?.[1] ?? -1) >= c.numLayers) as TensorDescriptor;
    throw new AppError(
      'model-config',
      `config.json says num_hidden_layers is ${c.numLayers}, but the checkpoint holds ${layers} layers (${first.file} has ${first.name}). Use the config.json that came with these weights.`,
    );
  }
  throw new AppError(
    'model-config',
    `${extra[0].file} holds ${extra[0].name}${extra.length > 1 ? ` (and ${extra.length - 1} more tensors)` : ''}, which a ${c.architecture} model with this config.json does not have. The weights do not belong to this config, or they hold parts this runtime does not compute.`,
  );
}

function listOf(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function bad(problem: string): never {
  throw new AppError('model-config', `config.json: ${problem}. The model's config.json is damaged or is not one this runtime can load.`);
}
