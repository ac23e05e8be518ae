/** A model configuration, normalised from a Hugging Face `config.json` (see config.ts for the parser). */

export type Architecture = 'llama' | 'qwen2' | 'qwen3';

/** `rope_scaling` / `rope_parameters` after normalisation. Only the kinds we compute exactly are listed. */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Per-head dimension; Qwen3 may set it independently of hiddenSize / numHeads. */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Biases on q/k/v projections (Qwen2, or Llama/Qwen3 with attention_bias). */
  attentionBias: boolean;
  /** Bias on o_proj (Llama/Qwen3 with attention_bias; never Qwen2). */
  attentionOutputBias: boolean;
  /** Per-head RMSNorm on queries and keys (Qwen3). */
  qkNorm: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

/** The seven projections LoRA can target, by their Hugging Face module names. */
export const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/** `model.layers.{i}.self_attn.q_proj` etc.: the module path as Hugging Face names it. */
export function modulePath(layer: number, proj: Projection): string {
  const group = proj === 'gate_proj' || proj === 'up_proj' || proj === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${group}.${proj}`;
}

/** [in, out] feature sizes of a projection (the HF weight is stored [out, in]). */
export function projectionDims(c: ModelConfig, proj: Projection): { inFeatures: number; outFeatures: number } {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  switch (proj) {
    case 'q_proj':
      return { inFeatures: c.hiddenSize, outFeatures: q };
    case 'k_proj':
    case 'v_proj':
      return { inFeatures: c.hiddenSize, outFeatures: kv };
    case 'o_proj':
      return { inFeatures: q, outFeatures: c.hiddenSize };
    case 'gate_proj':
    case 'up_proj':
      return { inFeatures: c.hiddenSize, outFeatures: c.intermediateSize };
    case 'down_proj':
      return { inFeatures: c.intermediateSize, outFeatures: c.hiddenSize };
  }
}
