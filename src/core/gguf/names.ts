/**
 * llama.cpp's names for a Hugging Face llama/qwen2/qwen3 checkpoint's tensors (gguf-py's MODEL_TENSOR names),
 * and the row permutation its converter applies to llama's q/k projections.
 *
 *   model.embed_tokens.weight                   token_embd.weight
 *   model.layers.N.input_layernorm.weight       blk.N.attn_norm.weight
 *   model.layers.N.self_attn.{q,k,v,o}_proj.*   blk.N.attn_{q,k,v,output}.{weight,bias}
 *   model.layers.N.self_attn.{q,k}_norm.weight  blk.N.attn_{q,k}_norm.weight          (qwen3)
 *   model.layers.N.post_attention_layernorm.*   blk.N.ffn_norm.weight
 *   model.layers.N.mlp.{gate,up,down}_proj.*    blk.N.ffn_{gate,up,down}.weight
 *   model.norm.weight                           output_norm.weight
 *   lm_head.weight                              output.weight  (absent when tied: llama.cpp reuses token_embd)
 */
import { AppError } from '../errors.ts';
import type { Projection } from '../model/types.ts';

/** llama.cpp's tensor base names for the Hugging Face projections. */
export const GGUF_PROJECTION_NAMES: Record<Projection, string> = {
  q_proj: 'attn_q',
  k_proj: 'attn_k',
  v_proj: 'attn_v',
  o_proj: 'attn_output',
  gate_proj: 'ffn_gate',
  up_proj: 'ffn_up',
  down_proj: 'ffn_down',
};

const LAYER_PARTS: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
};

const TOP: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** The GGUF name of a checkpoint tensor; an unknown name is an internal error (the specs list every tensor). */
export function ggufTensorName(hfName: string): string {
  const top = TOP[hfName];
  if (top) return top;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (m) {
    const part = LAYER_PARTS[m[2]];
    if (part) return `blk.${m[1]}.${part}`;
    const p = /^(?:self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.(weight|bias)$/.exec(m[2]);
    if (p) return `blk.${m[1]}.${GGUF_PROJECTION_NAMES[p[1] as Projection]}.${p[2]}`;
  }
  throw new AppError('internal', `No GGUF name for the checkpoint tensor "${hfName}".`);
}

/** Which llama q/k tensor this is ('q' | 'k'), when the converter permutes its rows; null otherwise. */
export function llamaPermutedProjection(hfName: string): 'q' | 'k' | null {
  const m = /\.self_attn\.(q|k)_proj\.(weight|bias)$/.exec(hfName);
  return m ? (m[1] as 'q' | 'k') : null;
}

/**
 * convert_hf_to_gguf's LlamaModel.permute on the rows of a [rows, cols] matrix (a bias is [rows, 1]):
 * reshape(nHead, 2, rows / nHead / 2, cols).swapaxes(1, 2).reshape(rows, cols). It turns Hugging Face's
 * "two halves" rotary layout of each head into ggml's interleaved pairs.
 */
export function permuteLlamaRows(data: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  if (rows % (2 * nHead) !== 0 || data.length !== rows * cols) {
    throw new AppError('gguf', `Cannot permute ${rows} rows for ${nHead} heads: rows must be a multiple of 2 × heads.`);
  }
  const headDim = rows / nHead;
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + j * half + i) * cols;
        const to = (h * headDim + 2 * i + j) * cols;
        out.set(data.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}
