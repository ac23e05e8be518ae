/**
 * GGUF LoRA adapters for llama.cpp (`--lora`) and Ollama (`ADAPTER`), laid out as llama.cpp's
 * convert_lora_to_gguf.py writes them:
 *   metadata  general.architecture, general.type = "adapter", adapter.type = "lora", general.name,
 *             adapter.lora.alpha (float32), general.quantization_version
 *   tensors   blk.N.attn_q.weight.lora_a  (numpy [r, in], stored ne = [in, r])  and  ….lora_b ([out, r]),
 *             likewise attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down; F32.
 * For the `llama` architecture, convert_hf_to_gguf reorders the rows of q_proj and k_proj (per head, from
 * HF's "two halves" rotary layout to ggml's interleaved one); on a LoRA pair that lands on lora_B. Qwen2
 * and Qwen3 are converted without it.
 * llama.cpp scales by alpha / r. For rsLoRA (alpha / √r) the alpha written is alpha·√r, so the adapter
 * behaves in llama.cpp exactly as in PEFT (the Python converter ignores use_rslora).
 */
import { AppError } from '../errors.ts';
import { baseModelMetadata } from '../gguf/general.ts';
import { GGUF_PROJECTION_NAMES, permuteLlamaRows } from '../gguf/names.ts';
import { writeGguf, type GGUFTensorToWrite, type GGUFValue } from '../io/gguf-write.ts';
import type { ModelConfig, Projection } from '../model/types.ts';
import { parseModulePath } from './peft-names.ts';
import { loraToPlain, type LoraPlainPair } from './tensor-data.ts';
import type { LoraConfig, LoraWeights } from './types.ts';

export { GGUF_PROJECTION_NAMES, permuteLlamaRows } from '../gguf/names.ts';

export function ggufLoraTensorName(layer: number, proj: Projection, which: 'a' | 'b'): string {
  return `blk.${layer}.${GGUF_PROJECTION_NAMES[proj]}.weight.lora_${which}`;
}

export interface GgufLoraOptions {
  /** general.name; default "<base model> LoRA". */
  name?: string;
  /** Base model id, recorded as general.base_model.0.name. */
  baseModel?: string;
}

/** The alpha that makes llama.cpp's alpha / r scaling equal to the adapter's own scaling. */
export function ggufLoraAlpha(config: Pick<LoraConfig, 'r' | 'alpha' | 'rslora'>): number {
  return config.rslora ? config.alpha * Math.sqrt(config.r) : config.alpha;
}

/** GGUF bytes from plain adapter tensors (module path → A [r, in], B [out, r]). */
export function loraPlainToGguf(
  plain: Map<string, LoraPlainPair>,
  config: LoraConfig,
  model: ModelConfig,
  options: GgufLoraOptions = {},
): Uint8Array<ArrayBuffer> {
  const metadata: Array<[string, GGUFValue]> = [
    ['general.architecture', { type: 'string', value: model.architecture }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['general.name', { type: 'string', value: options.name ?? `${options.baseModel ?? model.architecture} LoRA` }],
  ];
  metadata.push(...baseModelMetadata(options.baseModel));
  metadata.push(['adapter.lora.alpha', { type: 'float32', value: ggufLoraAlpha(config) }]);
  metadata.push(['general.quantization_version', { type: 'uint32', value: 2 }]);

  const tensors: GGUFTensorToWrite[] = [];
  for (const [module, { a, b }] of plain) {
    const parsed = parseModulePath(module);
    if (!parsed) throw new AppError('gguf', `"${module}" is not a projection llama.cpp can adapt.`);
    const { layer, proj } = parsed;
    let bData = b.data;
    if (model.architecture === 'llama' && (proj === 'q_proj' || proj === 'k_proj')) {
      const heads = proj === 'q_proj' ? model.numHeads : model.numKvHeads;
      bData = permuteLlamaRows(b.data, b.shape[0], b.shape[1], heads);
    }
    tensors.push({ name: ggufLoraTensorName(layer, proj, 'a'), shape: a.shape, data: a.data });
    tensors.push({ name: ggufLoraTensorName(layer, proj, 'b'), shape: b.shape, data: bData });
  }
  return writeGguf(metadata, tensors);
}

/** adapter.gguf bytes for trained (or loaded) LoRA weights. */
export async function loraToGguf(weights: LoraWeights, model: ModelConfig, options: GgufLoraOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  return loraPlainToGguf(await loraToPlain(weights), weights.config, model, options);
}
