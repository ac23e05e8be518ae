/**
 * The proposed shape of the toy model (a tiny Llama, tied embeddings) and parameter / FLOP arithmetic for
 * the training plan in README.md. The config.json itself is written by the training script together with
 * the weights, so that public/models/toy-arith never holds a config without a model.
 */

export interface ToyModelShape {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  maxPositionEmbeddings: number;
}

export const PROPOSED_TOY_SHAPE: Omit<ToyModelShape, 'vocabSize'> = {
  hiddenSize: 128,
  intermediateSize: 352,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  maxPositionEmbeddings: 384,
};

/** The Hugging Face config.json the training script should write (LlamaForCausalLM). */
export function proposedToyConfigJson(vocabSize: number, shape = PROPOSED_TOY_SHAPE): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.numLayers,
    num_attention_heads: shape.numHeads,
    num_key_value_heads: shape.numKvHeads,
    head_dim: shape.hiddenSize / shape.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: shape.maxPositionEmbeddings,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: null,
    eos_token_id: [2, 0],
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
}

/** Parameters of a tied-embedding Llama: embeddings + per layer (attention, MLP, two norms) + final norm. */
export function llamaParamCount(s: ToyModelShape): number {
  const headDim = s.hiddenSize / s.numHeads;
  const q = s.numHeads * headDim;
  const kv = s.numKvHeads * headDim;
  const attention = s.hiddenSize * q + 2 * s.hiddenSize * kv + q * s.hiddenSize;
  const mlp = 3 * s.hiddenSize * s.intermediateSize;
  const perLayer = attention + mlp + 2 * s.hiddenSize;
  return s.vocabSize * s.hiddenSize + s.numLayers * perLayer + s.hiddenSize;
}

/**
 * Training FLOPs for `tokens` tokens of sequences of length `seqLen`: 6 · (matmul parameters) per token for
 * the weights (forward 2, backward 4, the tied output projection included) plus the attention scores and
 * weighted sums (2 · 2 · T · d per layer forward, times 3 with the backward pass).
 */
export function trainingFlops(s: ToyModelShape, tokens: number, seqLen: number): number {
  const matmulParams = llamaParamCount(s) - s.numLayers * 2 * s.hiddenSize - s.hiddenSize; // norms don't matmul
  const attention = s.numLayers * 3 * 2 * 2 * seqLen * s.hiddenSize;
  return tokens * (6 * matmulParams + attention);
}
