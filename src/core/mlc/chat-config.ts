/**
 * `mlc-chat-config.json` ↔ our ModelConfig. mlc-llm's `gen_config` writes the model's own config under
 * `model_config` with mlc-llm's field names (llama: `position_embedding_base` for rope_theta; every family:
 * `context_window_size` for the positions it was built for) plus chat settings web-llm reads
 * (`tokenizer_files`, `conv_template`, `vocab_size`, `context_window_size`, sampling defaults, token ids).
 *
 * Reading maps `model_config` to the Hugging Face field names and runs the same config parser as a
 * `config.json`, so an MLC model is refused for exactly what an HF one would be.
 */
import { AppError } from '../errors.ts';
import { parseModelConfig } from '../model/config.ts';
import type { Architecture, ModelConfig } from '../model/types.ts';
import { mlcError } from './manifest.ts';
import { CHAT_CONFIG_FILE, isMlcQuantization, MLC_QUANTIZATIONS, type MlcQuantization } from './types.ts';

type Json = Record<string, unknown>;

/** A parsed mlc-chat-config.json: what a validator or loader needs before any weight is read. */
export interface MlcChatConfig {
  architecture: Architecture;
  quantization: MlcQuantization;
  /** The model config as our runtime computes it. */
  config: ModelConfig;
  tokenizerFiles: string[];
  /** The whole file, for copying it into merged models unchanged. */
  raw: Json;
}

const ARCHITECTURES: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

export function parseMlcChatConfig(raw: unknown, label: string): MlcChatConfig {
  const where = `${CHAT_CONFIG_FILE} of ${label}`;
  if (!isObject(raw)) throw mlcError(where, 'it is not a JSON object');
  const architecture = typeof raw.model_type === 'string' ? ARCHITECTURES[raw.model_type] : undefined;
  if (!architecture) {
    throw new AppError('unsupported', `unsupported: ${where} has model_type ${JSON.stringify(raw.model_type)}. This runtime computes MLC builds of llama, qwen2 and qwen3 models.`);
  }
  if (!isMlcQuantization(raw.quantization)) {
    throw new AppError('unsupported', `unsupported: ${where} has quantization ${JSON.stringify(raw.quantization)}. This runtime reads ${MLC_QUANTIZATIONS.join(', ')}.`);
  }
  const mc = raw.model_config;
  if (!isObject(mc)) throw mlcError(where, 'it has no "model_config" object');
  if (typeof raw.sliding_window_size === 'number' && raw.sliding_window_size > 0) {
    throw new AppError('unsupported', `unsupported: ${where} sets sliding_window_size ${raw.sliding_window_size} (sliding-window attention).`);
  }
  const tokenizerFiles = raw.tokenizer_files ?? [];
  if (!Array.isArray(tokenizerFiles) || !tokenizerFiles.every((f) => typeof f === 'string')) throw mlcError(where, '"tokenizer_files" is not a list of file names');
  let config: ModelConfig;
  try {
    config = parseModelConfig(hfShaped(architecture, mc, raw));
  } catch (e) {
    if (e instanceof AppError && e.code === 'model-config') {
      const message = e.message.replace(/^config\.json:/, `${where} (model_config):`).replace("The model's config.json", `The model's ${CHAT_CONFIG_FILE}`);
      throw new AppError('model-config', message, { cause: e });
    }
    throw e;
  }
  return { architecture, quantization: raw.quantization, config, tokenizerFiles: tokenizerFiles as string[], raw };
}

/** mlc-llm's model_config (plus top-level token ids) in Hugging Face config.json terms. */
function hfShaped(architecture: Architecture, mc: Json, top: Json): Json {
  const positive = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  const out: Json = {
    model_type: architecture,
    hidden_size: mc.hidden_size,
    intermediate_size: mc.intermediate_size,
    num_hidden_layers: mc.num_hidden_layers,
    num_attention_heads: mc.num_attention_heads,
    num_key_value_heads: positive(mc.num_key_value_heads),
    head_dim: positive(mc.head_dim),
    vocab_size: mc.vocab_size ?? top.vocab_size,
    rms_norm_eps: mc.rms_norm_eps,
    hidden_act: mc.hidden_act ?? 'silu',
    tie_word_embeddings: mc.tie_word_embeddings === true,
    max_position_embeddings: positive(mc.context_window_size) ?? positive(top.context_window_size),
    bos_token_id: top.bos_token_id,
    eos_token_id: top.eos_token_id,
  };
  if (architecture === 'llama') {
    out.rope_theta = positive(mc.position_embedding_base) ?? positive(mc.rope_theta) ?? 10000;
    out.rope_scaling = mc.rope_scaling ?? null;
  } else {
    out.rope_theta = mc.rope_theta;
  }
  if (architecture === 'qwen3') out.attention_bias = mc.attention_bias === true;
  return out;
}

export interface ChatConfigOptions {
  quantization: MlcQuantization;
  /** Tokenizer files written next to the weights (tokenizer.json, tokenizer_config.json, …). */
  tokenizerFiles: string[];
  /** tokenizer.json, parsed: the special tokens decide the conversation template. */
  tokenizerJson: unknown;
  /** Context window to build for (default: the model's max positions, capped at 4096 as web-llm's libraries are). */
  contextWindow?: number;
}

/** An mlc-chat-config.json for a model we export (fields as mlc-llm's gen_config writes them). */
export function buildMlcChatConfig(c: ModelConfig, o: ChatConfigOptions): Json {
  const context = o.contextWindow ?? Math.min(c.maxPositionEmbeddings, 4096);
  const shared = {
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_attention_heads: c.numHeads,
    num_hidden_layers: c.numLayers,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsNormEps,
    vocab_size: c.vocabSize,
    tie_word_embeddings: c.tieWordEmbeddings,
    context_window_size: context,
    prefill_chunk_size: Math.min(context, 2048),
    tensor_parallel_shards: 1,
    max_batch_size: 1,
  };
  let modelConfig: Json;
  if (c.architecture === 'llama') {
    const s = c.ropeScaling;
    modelConfig = {
      ...shared,
      position_embedding_base: c.ropeTheta,
      rope_scaling:
        s.type === 'llama3'
          ? { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositionEmbeddings }
          : null,
      pipeline_parallel_stages: 1,
      disaggregation: false,
    };
  } else {
    modelConfig = { hidden_act: 'silu', ...shared, rope_theta: c.ropeTheta, dtype: 'float32' };
    if (c.architecture === 'qwen3') Object.assign(modelConfig, { attention_bias: c.attentionBias, weight_block_size: null });
  }
  const special = specialTokens(o.tokenizerJson);
  const eos = c.eosTokenIds;
  return {
    version: '0.1.0',
    model_type: c.architecture,
    quantization: o.quantization,
    model_config: modelConfig,
    vocab_size: c.vocabSize,
    context_window_size: context,
    sliding_window_size: -1,
    prefill_chunk_size: Math.min(context, 2048),
    attention_sink_size: -1,
    tensor_parallel_shards: 1,
    pipeline_parallel_stages: 1,
    temperature: 1.0,
    presence_penalty: 0.0,
    frequency_penalty: 0.0,
    repetition_penalty: 1.0,
    top_p: 1.0,
    tokenizer_files: o.tokenizerFiles,
    tokenizer_info: { token_postproc_method: 'byte_level', prepend_space_in_encode: false, strip_space_in_decode: false },
    conv_template: conversationTemplate(special, eos),
    pad_token_id: 0,
    bos_token_id: c.bosTokenId,
    eos_token_id: eos.length === 1 ? eos[0] : eos,
  };
}

/**
 * ChatML when the tokenizer has `<|im_start|>` and `<|im_end|>` (SmolLM2, Qwen2.5, Qwen3 and the fixtures),
 * otherwise plain text turns. web-llm formats chats with this template, not with the Jinja chat template.
 */
function conversationTemplate(special: Map<string, number>, eos: number[]): Json {
  const start = special.get('<|im_start|>');
  const end = special.get('<|im_end|>');
  if (start !== undefined && end !== undefined) {
    return {
      name: 'chatml',
      system_template: '<|im_start|>system\n{system_message}<|im_end|>\n',
      system_message: 'You are a helpful assistant.',
      roles: { user: '<|im_start|>user', assistant: '<|im_start|>assistant' },
      role_templates: { user: '{user_message}', assistant: '{assistant_message}', tool: '{tool_message}' },
      messages: [],
      seps: ['<|im_end|>\n'],
      role_content_sep: '\n',
      role_empty_sep: '\n',
      stop_str: ['<|im_end|>'],
      stop_token_ids: [...new Set([end, ...eos])],
      add_role_after_system_message: true,
    };
  }
  return {
    name: 'LM',
    system_template: '{system_message}',
    system_message: '',
    roles: { user: '', assistant: '' },
    seps: [''],
    role_content_sep: '',
    role_empty_sep: '',
    stop_str: [],
    stop_token_ids: eos,
    messages: [],
  };
}

function specialTokens(tokenizerJson: unknown): Map<string, number> {
  const out = new Map<string, number>();
  const added = isObject(tokenizerJson) ? tokenizerJson.added_tokens : undefined;
  if (Array.isArray(added)) {
    for (const t of added) if (isObject(t) && typeof t.content === 'string' && typeof t.id === 'number') out.set(t.content, t.id);
  }
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
