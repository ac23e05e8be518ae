/**
 * A model's weights as a plain structure of tensors. Any tensor may be replaced by a tf.Variable (full-parameter
 * training), so the forward pass only ever reads them.
 *
 * Layout: every linear weight is stored TRANSPOSED relative to Hugging Face, as [in, out], because tfjs-wasm
 * multiplies `x · W` an order of magnitude faster than `x · Wᵀ`. The token embedding is stored as [H, V]
 * (one column per token) so that a tied LM head is the same tensor; lookups gather columns.
 * `hfWeightEntries` converts back to Hugging Face names and layouts (for saving).
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { ModelConfig, Projection } from './types.ts';

export interface LayerWeights {
  inputNorm: tf.Tensor1D; // [H]
  postAttentionNorm: tf.Tensor1D; // [H]
  q: tf.Tensor2D; // [H, nH·hD]
  k: tf.Tensor2D; // [H, nKV·hD]
  v: tf.Tensor2D; // [H, nKV·hD]
  o: tf.Tensor2D; // [nH·hD, H]
  gate: tf.Tensor2D; // [H, I]
  up: tf.Tensor2D; // [H, I]
  down: tf.Tensor2D; // [I, H]
  qBias: tf.Tensor1D | null; // [nH·hD]
  kBias: tf.Tensor1D | null; // [nKV·hD]
  vBias: tf.Tensor1D | null; // [nKV·hD]
  oBias: tf.Tensor1D | null; // [H]
  qNorm: tf.Tensor1D | null; // [hD] (qwen3)
  kNorm: tf.Tensor1D | null; // [hD] (qwen3)
}

export interface ModelWeights {
  /** Token embeddings, one column per token: [H, V]. Also the LM head when the embeddings are tied. */
  embedding: tf.Tensor2D;
  layers: LayerWeights[];
  finalNorm: tf.Tensor1D; // [H]
  /** Separate LM head [H, V], or null when tied to `embedding`. */
  lmHead: tf.Tensor2D | null;
  /**
   * Set when the model was loaded in a format the wasm kernels own (8-bit or packed F32,
   * src/core/kernels/owned-weights.ts): its matrices live there, outside tfjs, and the F32 tensors they replaced
   * (layer matrices, embedding, head) are null. Only the wasm kernels run such a model.
   */
  owned?: { readonly format: 'int8' | 'f32-packed'; readonly bytes: number; readonly parameters: number; dispose(): void } | null;
}

/** Refuses a model whose matrices the kernels own (8-bit or packed F32: only the wasm kernels run it). */
export function requireF32(w: ModelWeights, what: string): void {
  if (!w.owned) return;
  const format = w.owned.format === 'int8' ? 'the 8-bit format' : 'the packed F32 format (for decoding only)';
  throw new AppError('unsupported', `${what} needs the model's F32 weights as tfjs tensors, but it was loaded in ${format}. Load it again with F32 weights.`);
}

/** Field of LayerWeights holding each projection's weight. */
export const PROJECTION_FIELD: Record<Projection, 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down'> = {
  q_proj: 'q',
  k_proj: 'k',
  v_proj: 'v',
  o_proj: 'o',
  gate_proj: 'gate',
  up_proj: 'up',
  down_proj: 'down',
};

/** How one tensor of the structure maps to a Hugging Face checkpoint entry. */
export interface HfTensorSpec {
  /** Checkpoint name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Shape in the checkpoint (HF layout). */
  hfShape: number[];
  /** True when our layout is the transpose of the checkpoint's (all 2-D tensors). */
  transposed: boolean;
  get(w: ModelWeights): tf.Tensor | null;
  set(w: ModelWeights, t: tf.Tensor): void;
}

type LayerField = keyof LayerWeights;

/** Every tensor a checkpoint of this config holds, in a stable order (embedding, layers, norm, head). */
export function hfTensorSpecs(c: ModelConfig): HfTensorSpec[] {
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const specs: HfTensorSpec[] = [
    {
      name: 'model.embed_tokens.weight',
      hfShape: [c.vocabSize, H],
      transposed: true,
      get: (w) => w.embedding,
      set: (w, t) => void (w.embedding = t as tf.Tensor2D),
    },
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    const layer = (name: string, field: LayerField, hfShape: number[]): void => {
      specs.push({
        name: `${p}.${name}`,
        hfShape,
        transposed: hfShape.length === 2,
        get: (w) => w.layers[i][field],
        set: (w, t) => void ((w.layers[i] as unknown as Record<string, tf.Tensor>)[field] = t),
      });
    };
    layer('input_layernorm.weight', 'inputNorm', [H]);
    layer('self_attn.q_proj.weight', 'q', [q, H]);
    layer('self_attn.k_proj.weight', 'k', [kv, H]);
    layer('self_attn.v_proj.weight', 'v', [kv, H]);
    layer('self_attn.o_proj.weight', 'o', [H, q]);
    if (c.attentionBias) {
      layer('self_attn.q_proj.bias', 'qBias', [q]);
      layer('self_attn.k_proj.bias', 'kBias', [kv]);
      layer('self_attn.v_proj.bias', 'vBias', [kv]);
    }
    if (c.attentionOutputBias) layer('self_attn.o_proj.bias', 'oBias', [H]);
    if (c.qkNorm) {
      layer('self_attn.q_norm.weight', 'qNorm', [c.headDim]);
      layer('self_attn.k_norm.weight', 'kNorm', [c.headDim]);
    }
    layer('post_attention_layernorm.weight', 'postAttentionNorm', [H]);
    layer('mlp.gate_proj.weight', 'gate', [I, H]);
    layer('mlp.up_proj.weight', 'up', [I, H]);
    layer('mlp.down_proj.weight', 'down', [H, I]);
  }
  specs.push({
    name: 'model.norm.weight',
    hfShape: [H],
    transposed: false,
    get: (w) => w.finalNorm,
    set: (w, t) => void (w.finalNorm = t as tf.Tensor1D),
  });
  if (!c.tieWordEmbeddings) {
    specs.push({
      name: 'lm_head.weight',
      hfShape: [c.vocabSize, H],
      transposed: true,
      get: (w) => w.lmHead,
      set: (w, t) => void (w.lmHead = t as tf.Tensor2D),
    });
  }
  return specs;
}

/** An empty structure for `hfTensorSpecs(...).set` to fill. */
export function emptyWeights(c: ModelConfig): ModelWeights {
  const none = null as unknown as tf.Tensor2D;
  return {
    embedding: none,
    finalNorm: none as unknown as tf.Tensor1D,
    lmHead: null,
    layers: Array.from({ length: c.numLayers }, () => ({
      inputNorm: none as unknown as tf.Tensor1D,
      postAttentionNorm: none as unknown as tf.Tensor1D,
      q: none,
      k: none,
      v: none,
      o: none,
      gate: none,
      up: none,
      down: none,
      qBias: null,
      kBias: null,
      vBias: null,
      oBias: null,
      qNorm: null,
      kNorm: null,
    })),
  };
}

/** Every tensor of the structure (for disposing, counting, or collecting trainable variables). */
export function allWeightTensors(w: ModelWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [w.finalNorm];
  if (w.embedding) out.push(w.embedding);
  if (w.lmHead) out.push(w.lmHead);
  for (const l of w.layers) {
    for (const t of Object.values(l) as (tf.Tensor | null)[]) if (t) out.push(t);
  }
  return out;
}

export function disposeWeights(w: ModelWeights): void {
  for (const t of allWeightTensors(w)) t.dispose();
  w.owned?.dispose();
  w.owned = null;
}

export function parameterCount(w: ModelWeights): number {
  return allWeightTensors(w).reduce((n, t) => n + t.size, w.owned?.parameters ?? 0);
}

/**
 * Checkpoint entries in Hugging Face names and layouts ([out, in] for linear weights), e.g. for writing a
 * safetensors file after full-parameter training. The tensors are new: the caller disposes them.
 */
export function hfWeightEntries(c: ModelConfig, w: ModelWeights): Array<{ name: string; tensor: tf.Tensor }> {
  requireF32(w, 'Saving the weights');
  return hfTensorSpecs(c).map((s) => {
    const t = s.get(w);
    if (!t) throw new Error(`missing weight ${s.name}`);
    return { name: s.name, tensor: tf.tidy(() => (s.transposed ? tf.transpose(t) : tf.clone(t))) };
  });
}
