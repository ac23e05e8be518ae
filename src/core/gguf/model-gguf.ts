/**
 * A full llama/qwen2/qwen3 model as one GGUF file that llama.cpp (and so Ollama) loads, laid out as
 * convert_hf_to_gguf.py writes it:
 *
 *   metadata  general.architecture, general.type = "model", general.name, general.base_model.*,
 *             the architecture's hyper-parameters (hparams.ts), general.file_type (0 F32, 1 F16, 7 Q8_0),
 *             general.quantization_version = 2, the tokenizer and chat template (vocab.ts)
 *   tensors   [rope_freqs.weight (Llama 3 RoPE)], then every checkpoint tensor under its GGUF name (names.ts),
 *             llama's q/k weights (and biases) with rows permuted; 1-D tensors and norms always F32, the rest in
 *             the chosen type (Q8_0 falls back to F16 for rows that are not a multiple of 32, as the converter does)
 *
 * Tensors go in one at a time, in Hugging Face layout ([out, in]), so the caller never holds the model twice.
 */
import { AppError } from '../errors.ts';
import { GGMLType, ggmlTypeFits, type GGMLTensorType } from '../io/ggml-quant.ts';
import { GgufBuilder, type GGUFTensorSpec, type GGUFValue } from '../io/gguf-write.ts';
import type { ModelConfig } from '../model/types.ts';
import { hfTensorSpecs } from '../model/weights.ts';
import { baseModelMetadata } from './general.ts';
import { architectureMetadata, llama3RopeFreqs } from './hparams.ts';
import { ggufTensorName, llamaPermutedProjection, permuteLlamaRows } from './names.ts';
import { ggufVocab, type GgufVocab } from './vocab.ts';

export const GGUF_DTYPES = ['F32', 'F16', 'Q8_0'] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];

const FILE_TYPE: Record<GgufDtype, number> = { F32: 0, F16: 1, Q8_0: 7 };
const TENSOR_TYPE: Record<GgufDtype, GGMLTensorType> = { F32: GGMLType.F32, F16: GGMLType.F16, Q8_0: GGMLType.Q8_0 };

export function checkGgufDtype(dtype: unknown): GgufDtype {
  if (dtype === undefined) return 'Q8_0';
  if (typeof dtype !== 'string' || !(GGUF_DTYPES as readonly string[]).includes(dtype)) {
    throw new AppError('bad-input', `A GGUF model's dtype must be ${GGUF_DTYPES.join(', ')}, not ${JSON.stringify(dtype)}.`);
  }
  return dtype as GgufDtype;
}

export interface ModelGgufOptions {
  dtype: GgufDtype;
  /** general.name: a model name, never a path. */
  name: string;
  /** The model this one derives from (general.base_model.0.*), e.g. the adapter's base for a merged model. */
  baseModel?: string;
  /** general.finetune, e.g. "merged-lora". */
  finetune?: string;
}

/** Type of one tensor in a file of `dtype`: 1-D tensors and norms stay F32, like the converter keeps them. */
export function ggufTensorType(ggufName: string, shape: readonly number[], dtype: GgufDtype): GGMLTensorType {
  if (shape.length <= 1 || ggufName.endsWith('_norm.weight')) return GGMLType.F32;
  const want = TENSOR_TYPE[dtype];
  return ggmlTypeFits(want, shape) ? want : GGMLType.F16;
}

function readJson(files: ReadonlyMap<string, Uint8Array>, name: string, required: boolean): unknown {
  const bytes = files.get(name);
  if (!bytes) {
    if (required) throw new AppError('not-found', `The model folder has no ${name}, which a GGUF file needs (it holds the tokenizer llama.cpp uses).`);
    return null;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new AppError('tokenizer', `${name} is not valid JSON; cannot write the GGUF file.`, { cause: e });
  }
}

export class ModelGgufWriter {
  readonly vocab: GgufVocab;
  readonly #config: ModelConfig;
  readonly #builder: GgufBuilder;
  /** Checkpoint name → GGUF name, for every tensor the caller must put. */
  readonly #names = new Map<string, string>();

  /** `files`: the model folder's config.json, tokenizer.json, tokenizer_config.json (and chat_template.jinja). */
  constructor(config: ModelConfig, files: ReadonlyMap<string, Uint8Array>, options: ModelGgufOptions) {
    this.#config = config;
    const dtype = checkGgufDtype(options.dtype);
    const chatFile = files.get('chat_template.jinja');
    this.vocab = ggufVocab({
      tokenizer: readJson(files, 'tokenizer.json', true),
      tokenizerConfig: readJson(files, 'tokenizer_config.json', false),
      config: readJson(files, 'config.json', false),
      vocabSize: config.vocabSize,
      chatTemplateFile: chatFile ? new TextDecoder().decode(chatFile) : null,
    });
    const metadata: Array<[string, GGUFValue]> = [
      ['general.architecture', { type: 'string', value: config.architecture }],
      ['general.type', { type: 'string', value: 'model' }],
      ['general.name', { type: 'string', value: options.name }],
    ];
    if (options.finetune) metadata.push(['general.finetune', { type: 'string', value: options.finetune }]);
    metadata.push(...baseModelMetadata(options.baseModel));
    metadata.push(...architectureMetadata(config));
    metadata.push(['general.file_type', { type: 'uint32', value: FILE_TYPE[dtype] }]);
    metadata.push(['general.quantization_version', { type: 'uint32', value: 2 }]);
    metadata.push(...this.vocab.metadata);

    const tensors: GGUFTensorSpec[] = [];
    const ropeFreqs = llama3RopeFreqs(config);
    if (ropeFreqs) tensors.push({ name: 'rope_freqs.weight', shape: [ropeFreqs.length], type: GGMLType.F32 });
    for (const s of hfTensorSpecs(config)) {
      const name = ggufTensorName(s.name);
      this.#names.set(s.name, name);
      tensors.push({ name, shape: s.hfShape, type: ggufTensorType(name, s.hfShape, dtype) });
    }
    this.#builder = new GgufBuilder(metadata, tensors);
    if (ropeFreqs) this.#builder.put('rope_freqs.weight', ropeFreqs);
  }

  /** Checkpoint tensor names in the order hfTensorSpecs lists them; each must be put once. */
  get checkpointNames(): string[] {
    return [...this.#names.keys()];
  }

  /** One checkpoint tensor in Hugging Face layout (weights [out, in], 1-D as is). */
  put(hfName: string, data: Float32Array): void {
    const name = this.#names.get(hfName);
    if (!name) throw new AppError('internal', `"${hfName}" is not a tensor of this ${this.#config.architecture} model.`);
    let values = data;
    const qk = this.#config.architecture === 'llama' ? llamaPermutedProjection(hfName) : null;
    if (qk) {
      const heads = qk === 'q' ? this.#config.numHeads : this.#config.numKvHeads;
      const rows = heads * this.#config.headDim;
      values = permuteLlamaRows(data, rows, data.length / rows, heads);
    }
    this.#builder.put(name, values);
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.#builder.finish();
  }
}
