/**
 * Parses a Hugging Face `config.json` (plus `generation_config.json`) into a ModelConfig. Supported:
 * `llama` (SmolLM2, TinyLlama, Llama 3.x with rope_type "llama3"), `qwen2` (q/k/v biases) and `qwen3`
 * (q_norm/k_norm, explicit head_dim). Both RoPE config forms are read: `rope_theta` + `rope_scaling`, and the
 * newer `rope_parameters`. Anything we would not compute exactly is refused with AppError('unsupported'); sizes
 * out of MODEL_BOUNDS (validate.ts) with AppError('model-config').
 */
import { AppError, showValue } from '../errors.ts';
import type { Architecture, ModelConfig, RopeScaling } from './types.ts';
import { checkConfigBounds } from './validate.ts';

type Json = Record<string, unknown>;

const ARCHITECTURES: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

export function parseModelConfig(raw: unknown, generationConfig: unknown = null): ModelConfig {
  if (!isObject(raw)) bad('config.json is not a JSON object');
  const modelType = raw.model_type;
  const architecture = typeof modelType === 'string' ? ARCHITECTURES[modelType] : undefined;
  if (!architecture) {
    throw new AppError(
      'unsupported',
      `unsupported: model_type ${JSON.stringify(modelType)}. This runtime computes llama, qwen2 and qwen3 models (e.g. SmolLM2, TinyLlama, Llama 3.2, Qwen2.5, Qwen3); pick one of those.`,
    );
  }
  const hiddenSize = posInt(raw, 'hidden_size');
  const numHeads = posInt(raw, 'num_attention_heads');
  const numKvHeads = raw.num_key_value_heads == null ? numHeads : posInt(raw, 'num_key_value_heads');
  if (numHeads % numKvHeads !== 0) bad(`num_attention_heads (${numHeads}) is not a multiple of num_key_value_heads (${numKvHeads})`);
  let headDim: number;
  if (raw.head_dim != null) headDim = posInt(raw, 'head_dim');
  else {
    if (hiddenSize % numHeads !== 0) bad(`hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}) and head_dim is not given`);
    headDim = hiddenSize / numHeads;
  }
  if (headDim % 2 !== 0) bad(`head_dim ${headDim} is odd; rotary embeddings need an even head size`);

  const act = raw.hidden_act ?? raw.hidden_activation ?? 'silu';
  if (act !== 'silu') unsupported(`hidden_act ${JSON.stringify(act)} (only silu)`);
  if (raw.mlp_bias === true) unsupported('mlp_bias: true');
  if (raw.use_sliding_window === true) unsupported('use_sliding_window: true (sliding-window attention)');
  if (raw.pretraining_tp != null && raw.pretraining_tp !== 1) unsupported(`pretraining_tp ${JSON.stringify(raw.pretraining_tp)}`);
  if (raw.attn_logit_softcapping != null || raw.final_logit_softcapping != null) unsupported('logit soft-capping');

  const explicitBias = raw.attention_bias === true;
  const { ropeTheta, ropeScaling } = parseRope(raw);
  const maxPositionEmbeddings = raw.max_position_embeddings == null ? 2048 : posInt(raw, 'max_position_embeddings');

  const config: ModelConfig = {
    architecture,
    vocabSize: posInt(raw, 'vocab_size'),
    hiddenSize,
    intermediateSize: posInt(raw, 'intermediate_size'),
    numLayers: posInt(raw, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: posNumber(raw, 'rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling,
    maxPositionEmbeddings,
    // LlamaConfig, Qwen2Config and Qwen3Config all default to untied.
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    attentionBias: architecture === 'qwen2' ? true : explicitBias,
    attentionOutputBias: architecture === 'qwen2' ? false : explicitBias,
    qkNorm: architecture === 'qwen3',
    bosTokenId: typeof raw.bos_token_id === 'number' ? raw.bos_token_id : null,
    eosTokenIds: eosIds(raw.eos_token_id, isObject(generationConfig) ? generationConfig.eos_token_id : undefined),
  };
  checkConfigBounds(config); // before anything is sized from it
  return config;
}

function parseRope(raw: Json): { ropeTheta: number; ropeScaling: RopeScaling } {
  // Newer configs: rope_parameters = { rope_type, rope_theta, factor, ... } (possibly per layer type).
  let params: unknown = raw.rope_parameters;
  if (isObject(params) && !('rope_type' in params) && !('rope_theta' in params) && isObject(params.full_attention)) {
    params = params.full_attention;
  }
  const scaling: Json | null = isObject(params) ? params : isObject(raw.rope_scaling) ? raw.rope_scaling : null;
  const thetaRaw = isObject(params) && params.rope_theta != null ? params.rope_theta : (raw.rope_theta ?? 10000);
  if (typeof thetaRaw !== 'number' || !(thetaRaw > 0) || !Number.isFinite(thetaRaw)) bad(`rope_theta ${showValue(thetaRaw)} is not a positive number`);
  const ropeTheta = thetaRaw;
  if (!scaling) return { ropeTheta, ropeScaling: { type: 'default' } };
  const kind = scaling.rope_type ?? scaling.type ?? 'default';
  switch (kind) {
    case 'default':
      return { ropeTheta, ropeScaling: { type: 'default' } };
    case 'linear':
      return { ropeTheta, ropeScaling: { type: 'linear', factor: posNumber(scaling, 'factor') } };
    case 'llama3': {
      const ropeScaling: RopeScaling = {
        type: 'llama3',
        factor: posNumber(scaling, 'factor'),
        lowFreqFactor: posNumber(scaling, 'low_freq_factor'),
        highFreqFactor: posNumber(scaling, 'high_freq_factor'),
        originalMaxPositionEmbeddings: posInt(scaling, 'original_max_position_embeddings'),
      };
      if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) bad('rope_scaling high_freq_factor must exceed low_freq_factor');
      return { ropeTheta, ropeScaling };
    }
    default:
      return unsupported(`rope_type ${JSON.stringify(kind)} (supported: default, linear, llama3)`);
  }
}

function eosIds(fromConfig: unknown, fromGeneration: unknown): number[] {
  const out = new Set<number>();
  for (const v of [fromConfig, fromGeneration]) {
    for (const id of Array.isArray(v) ? v : [v]) if (Number.isInteger(id) && (id as number) >= 0) out.add(id as number);
  }
  return [...out];
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function posInt(o: Json, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(`${key} is ${showValue(v)}; expected a positive integer`);
  return v;
}

function posNumber(o: Json, key: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) bad(`${key} is ${showValue(v)}; expected a positive number`);
  return v;
}

function bad(problem: string): never {
  throw new AppError('model-config', `config.json: ${problem}. The model's config.json is damaged or incomplete.`);
}

function unsupported(what: string): never {
  throw new AppError('unsupported', `unsupported: ${what}. This runtime would compute different numbers than the original model, so it refuses to load it.`);
}
