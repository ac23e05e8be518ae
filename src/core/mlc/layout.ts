/**
 * Which parameters an MLC build of a llama / qwen2 / qwen3 model holds, and how they map to Hugging Face
 * tensors (mlc-llm `model/{llama,qwen2,qwen3}/*_loader.py`, `loader/standard_loader.py`):
 *
 *   q_proj, k_proj, v_proj → one matrix, rows stacked q then k then v (axis 0 of the HF [out, in] weights):
 *                            `self_attn.qkv_proj` for llama, `self_attn.c_attn` for qwen2 and qwen3, with
 *                            the q/k/v biases stacked the same way in `c_attn.bias` (qwen2 always, qwen3
 *                            with attention_bias);
 *   gate_proj, up_proj     → `mlp.gate_up_proj`, rows gate then up;
 *   everything else        → the same name (embed_tokens, o_proj, down_proj, the norms, q_norm/k_norm,
 *                            lm_head unless the embeddings are tied).
 *
 * Linear and embedding matrices (lm_head included) are what q4 quantizes; norms and biases stay in the model
 * dtype. Matrices keep the HF layout [out, in] ("NK").
 */
import { AppError } from '../errors.ts';
import type { ModelConfig } from '../model/types.ts';
import { q4Dims } from './q4.ts';
import type { MlcDtype, QuantScheme } from './types.ts';

/** One HF tensor inside an MLC parameter: its name and how many rows (elements, for vectors) it takes. */
export interface MlcPart {
  hf: string;
  rows: number;
}

export interface MlcParam {
  /** e.g. `model.layers.0.self_attn.qkv_proj`; stored names add `.weight` / `.bias` / `.q_weight` / `.q_scale`. */
  module: string;
  role: 'weight' | 'bias';
  /** Unquantized shape: [rows, cols] (HF [out, in], parts stacked on rows) or [n] for a vector. */
  shape: number[];
  /** The HF tensors it holds, in MLC's order; a single part when nothing is fused. */
  parts: MlcPart[];
  /** A linear or embedding matrix: stored as q_weight + q_scale under q4. */
  quantizable: boolean;
}

/** A record as it must appear in tensor-cache.json for a parameter. */
export interface StoredTensor {
  name: string;
  shape: number[];
  dtype: MlcDtype;
}

/** The fused q/k/v module's name in this architecture. */
export function qkvModule(config: ModelConfig): 'qkv_proj' | 'c_attn' {
  return config.architecture === 'llama' ? 'qkv_proj' : 'c_attn';
}

/** Every parameter of an MLC build of this config, in a stable order. Throws 'unsupported' for what MLC lacks. */
export function mlcParams(c: ModelConfig): MlcParam[] {
  if (c.architecture === 'llama' && (c.attentionBias || c.attentionOutputBias)) {
    throw new AppError('unsupported', 'unsupported: a llama model with attention biases. mlc-llm\'s llama has no q/k/v or o_proj bias, so web-llm cannot run it.');
  }
  // mlc-llm's llama knows Llama 3 rope scaling only; its qwen2 and qwen3 know none.
  const scaling = c.ropeScaling.type;
  if (scaling !== 'default' && !(c.architecture === 'llama' && scaling === 'llama3')) {
    throw new AppError('unsupported', `unsupported: ${c.architecture} with rope scaling "${scaling}", which mlc-llm's ${c.architecture} does not compute.`);
  }
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const matrix = (module: string, rows: number, cols: number, parts: MlcPart[] = [{ hf: `${module}.weight`, rows }]): MlcParam => ({
    module,
    role: 'weight',
    shape: [rows, cols],
    parts,
    quantizable: true,
  });
  const vector = (module: string, role: 'weight' | 'bias', parts: MlcPart[]): MlcParam => ({
    module,
    role,
    shape: [parts.reduce((n, p) => n + p.rows, 0)],
    parts,
    quantizable: false,
  });
  const out: MlcParam[] = [matrix('model.embed_tokens', c.vocabSize, H)];
  const fused = qkvModule(c);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    const a = `${p}.self_attn`;
    const m = `${p}.mlp`;
    out.push(vector(`${p}.input_layernorm`, 'weight', [{ hf: `${p}.input_layernorm.weight`, rows: H }]));
    const qkvParts = (kind: 'weight' | 'bias'): MlcPart[] => [
      { hf: `${a}.q_proj.${kind}`, rows: q },
      { hf: `${a}.k_proj.${kind}`, rows: kv },
      { hf: `${a}.v_proj.${kind}`, rows: kv },
    ];
    out.push(matrix(`${a}.${fused}`, q + 2 * kv, H, qkvParts('weight')));
    if (c.attentionBias) out.push(vector(`${a}.${fused}`, 'bias', qkvParts('bias')));
    out.push(matrix(`${a}.o_proj`, H, q));
    if (c.attentionOutputBias) out.push(vector(`${a}.o_proj`, 'bias', [{ hf: `${a}.o_proj.bias`, rows: H }]));
    if (c.qkNorm) {
      out.push(vector(`${a}.q_norm`, 'weight', [{ hf: `${a}.q_norm.weight`, rows: c.headDim }]));
      out.push(vector(`${a}.k_norm`, 'weight', [{ hf: `${a}.k_norm.weight`, rows: c.headDim }]));
    }
    out.push(vector(`${p}.post_attention_layernorm`, 'weight', [{ hf: `${p}.post_attention_layernorm.weight`, rows: H }]));
    out.push(
      matrix(`${m}.gate_up_proj`, 2 * I, H, [
        { hf: `${m}.gate_proj.weight`, rows: I },
        { hf: `${m}.up_proj.weight`, rows: I },
      ]),
    );
    out.push(matrix(`${m}.down_proj`, H, I));
  }
  out.push(vector('model.norm', 'weight', [{ hf: 'model.norm.weight', rows: H }]));
  if (!c.tieWordEmbeddings) out.push(matrix('lm_head', c.vocabSize, H));
  return out;
}

/** The records a parameter is stored as under a quantization (names, shapes, dtypes). */
export function storedTensors(p: MlcParam, scheme: QuantScheme): StoredTensor[] {
  if (p.quantizable && scheme.weights === 'q4') {
    const [rows, cols] = p.shape;
    const { words, groups } = q4Dims(cols);
    return [
      { name: `${p.module}.q_weight`, shape: [rows, words], dtype: 'uint32' },
      { name: `${p.module}.q_scale`, shape: [rows, groups], dtype: scheme.modelDtype },
    ];
  }
  return [{ name: `${p.module}.${p.role}`, shape: [...p.shape], dtype: scheme.modelDtype }];
}

/** Elements per row (1 for vectors). */
function rowSize(p: MlcParam): number {
  return p.shape.length === 2 ? p.shape[1] : 1;
}

/** A fused parameter's values [rows, cols] → its HF tensors (copies), in MLC's order. */
export function unfuse(p: MlcParam, values: Float32Array): Array<{ hf: string; shape: number[]; data: Float32Array }> {
  const cols = rowSize(p);
  let row = 0;
  return p.parts.map((part) => {
    const data = values.slice(row * cols, (row + part.rows) * cols);
    row += part.rows;
    return { hf: part.hf, shape: p.shape.length === 2 ? [part.rows, cols] : [part.rows], data };
  });
}

/** HF tensors → the fused parameter's values, stacked on rows in MLC's order. */
export function fuse(p: MlcParam, parts: ReadonlyMap<string, Float32Array>): Float32Array {
  const cols = rowSize(p);
  const out = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
  let row = 0;
  for (const part of p.parts) {
    const data = parts.get(part.hf);
    if (!data || data.length !== part.rows * cols) throw new Error(`unreachable: ${part.hf} missing or misshapen for ${p.module}`);
    out.set(data, row * cols);
    row += part.rows;
  }
  return out;
}
