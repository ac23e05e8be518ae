/**
 * PEFT export: `adapter_config.json` with every key PEFT 0.17 writes for a LoraConfig (sorted, indented by
 * two, floats and escapes as Python's json.dumps writes them), and `adapter_model.safetensors` (F32,
 * metadata {"format":"pt"}, keys `base_model.model.<module>.lora_A.weight` [r, in] / `.lora_B.weight` [out, r]).
 * PEFT 0.13 and later load configs that carry keys they do not know (with a warning).
 */
import { writeSafetensors, type TensorToWrite } from '../io/safetensors-write.ts';
import { peftTensorName } from './peft-names.ts';
import { loraToPlain, type LoraPlainPair } from './tensor-data.ts';
import type { LoraConfig, LoraWeights } from './types.ts';

export interface PeftExportOptions {
  /** Hugging Face id or path of the base model, as `base_model_name_or_path`. */
  baseModel: string;
  /** Hub revision of the base model, if pinned. */
  revision?: string | null;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The adapter_config.json object for a LoRA configuration. */
export function peftAdapterConfig(config: LoraConfig, options: PeftExportOptions): Record<string, Json> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: options.baseModel,
    bias: 'none',
    corda_config: null,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: config.layers ? [...config.layers].sort((a, b) => a - b) : null,
    loftq_config: {},
    lora_alpha: config.alpha,
    lora_bias: false,
    lora_dropout: config.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    qalora_group_size: 16,
    r: config.r,
    rank_pattern: {},
    revision: options.revision ?? null,
    target_modules: [...config.targetModules],
    target_parameters: null,
    task_type: 'CAUSAL_LM',
    trainable_token_indices: null,
    use_dora: false,
    use_qalora: false,
    use_rslora: config.rslora,
  };
}

/** Keys whose numbers Python holds as floats (written `0.0`, not `0`). */
const FLOAT_KEYS = new Set(['lora_dropout']);

/** adapter_config.json text, byte-for-byte as `json.dumps(d, indent=2, sort_keys=True)` would write it. */
export function peftAdapterConfigJson(config: LoraConfig, options: PeftExportOptions): string {
  return pythonJson(peftAdapterConfig(config, options), '', null);
}

function pythonJson(v: Json, indent: string, key: string | null): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return key !== null && FLOAT_KEYS.has(key) ? pythonFloat(v) : String(v);
  if (typeof v === 'string') return pythonString(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + pythonJson(x, inner, null)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(v).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${pythonString(k)}: ${pythonJson(v[k], inner, k)}`).join(',\n')}\n${indent}}`;
}

/** Python's float repr: always a decimal point or exponent; two-digit exponents. */
function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : x < 0 ? '-Infinity' : 'NaN';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  if (x !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e16)) {
    return x.toExponential().replace(/e([+-])(\d+)$/, (_m, sign: string, digits: string) => `e${sign}${digits.padStart(2, '0')}`);
  }
  return String(x);
}

/** JSON string with ensure_ascii=True escaping, as Python writes it. */
function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** adapter_model.safetensors bytes from plain tensors: F32, names sorted as safetensors' save_file orders them. */
export function peftSafetensorsFromPlain(plain: ReadonlyMap<string, LoraPlainPair>): Uint8Array<ArrayBuffer> {
  const tensors: Array<[string, TensorToWrite]> = [];
  for (const [module, { a, b }] of plain) {
    tensors.push([peftTensorName(module, 'A'), a], [peftTensorName(module, 'B'), b]);
  }
  tensors.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return writeSafetensors(tensors, { dtype: 'F32', metadata: { format: 'pt' } });
}

/** adapter_model.safetensors bytes for trained (or loaded) LoRA weights. */
export async function peftAdapterSafetensors(weights: LoraWeights): Promise<Uint8Array<ArrayBuffer>> {
  return peftSafetensorsFromPlain(await loraToPlain(weights));
}

/** Both PEFT files, keyed by file name. */
export async function peftAdapterFiles(weights: LoraWeights, options: PeftExportOptions): Promise<Map<string, Uint8Array>> {
  return new Map([
    ['adapter_config.json', new TextEncoder().encode(peftAdapterConfigJson(weights.config, options))],
    ['adapter_model.safetensors', await peftAdapterSafetensors(weights)],
  ]);
}
