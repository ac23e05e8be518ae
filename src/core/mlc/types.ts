/**
 * The MLC model format that web-llm runs (mlc-llm `convert_weight` + `gen_config`, read by tvmjs's tensor
 * cache loader), as plain data. See README.md for where each fact comes from.
 *
 * A folder holds `mlc-chat-config.json` (the model config and chat settings), `tensor-cache.json` (the index)
 * and `params_shard_<n>.bin` files; each shard holds the raw bytes of one or more parameters, at the byte
 * offsets the index records. Tokenizer files sit next to them.
 */

/** The quantizations web-llm's catalog ships for the llama / qwen2 / qwen3 families. */
export const MLC_QUANTIZATIONS = ['q0f32', 'q0f16', 'q4f16_1', 'q4f32_1'] as const;
export type MlcQuantization = (typeof MLC_QUANTIZATIONS)[number];

export function isMlcQuantization(s: unknown): s is MlcQuantization {
  return typeof s === 'string' && (MLC_QUANTIZATIONS as readonly string[]).includes(s);
}

/** What a quantization means for the stored parameters (mlc-llm `quantization/quantization.py`). */
export interface QuantScheme {
  name: MlcQuantization;
  /** q0: every matrix stored as is; q4: linear and embedding matrices as 4-bit groups (`GroupQuantize`). */
  weights: 'q0' | 'q4';
  /** dtype of everything not quantized (norms, biases, unquantized matrices) and of the q4 scales. */
  modelDtype: 'float32' | 'float16';
}

export function quantScheme(q: MlcQuantization): QuantScheme {
  return {
    name: q,
    weights: q.startsWith('q4') ? 'q4' : 'q0',
    modelDtype: q === 'q0f16' || q === 'q4f16_1' ? 'float16' : 'float32',
  };
}

/** q4f16_1 / q4f32_1: 32 weights per group along the input dimension, 8 four-bit values per uint32. */
export const Q4_GROUP_SIZE = 32;
export const Q4_PER_WORD = 8;

/** tvm dtype strings a record of these models holds. */
export type MlcDtype = 'float32' | 'float16' | 'bfloat16' | 'uint32';
export const MLC_DTYPE_BYTES: Record<MlcDtype, number> = { float32: 4, float16: 2, bfloat16: 2, uint32: 4 };

/**
 * How a record's bytes encode its dtype: `raw` (little-endian values of `dtype`), or `f32-to-bf16` (a
 * float32 tensor stored as the top 16 bits of each value, the default of tvmjs `dump_tensor_cache`, which
 * mlc-llm's convert_weight uses: the catalog's q0f32 and q4f32_1 builds hold bfloat16-precision floats).
 */
export type MlcFormat = 'raw' | 'f32-to-bf16';

/** One parameter inside a shard. */
export interface MlcRecord {
  name: string;
  shape: number[];
  dtype: MlcDtype;
  format: MlcFormat;
  nbytes: number;
  /** Offset of the parameter's bytes inside its shard. */
  byteOffset: number;
}

/** One `params_shard_<n>.bin` file and the parameters it holds. */
export interface MlcShard {
  dataPath: string;
  format: 'raw-shard';
  nbytes: number;
  records: MlcRecord[];
  md5sum?: string;
}

/** `tensor-cache.json`. */
export interface TensorCache {
  metadata: Record<string, unknown>;
  records: MlcShard[];
}

/** The file names web-llm 0.2.86 reads from a model folder (tvmjs `TENSOR_CACHE_MANIFEST_FILENAME`). */
export const TENSOR_CACHE_FILE = 'tensor-cache.json';
/** The same index under the name older mlc-llm toolchains wrote (read as a fallback; web-llm 0.2.86 does not). */
export const LEGACY_TENSOR_CACHE_FILE = 'ndarray-cache.json';
export const CHAT_CONFIG_FILE = 'mlc-chat-config.json';

/** A model's files by name (a folder, the browser cache, or what a merge or export produced). */
export type MlcFileMap = Map<string, Uint8Array>;
