/**
 * One merge: a loaded model's base weights plus a LoRA adapter → the files of a model that runs without the
 * adapter (W' = W + scaling · B·A on every adapted projection). With no adapter it exports the base model as is.
 * The tfjs host's `mergedModel` (the app's "Download merged model") and `lm merge` / `lm export-gguf` run it.
 *
 * Formats (MERGE_FORMATS; add one by adding a writer):
 *   safetensors  model.safetensors in Hugging Face names and layouts (F32 | F16 | BF16), plus the base folder's
 *                config, generation settings and tokenizer files
 *   gguf         model.gguf for llama.cpp (F32 | F16 | Q8_0, see core/gguf/model-gguf.ts), a Modelfile for
 *                Ollama (FROM ./model.gguf, TEMPLATE, stop tokens) and a README
 *
 * Memory: the output file is laid out from the shapes first; then each base tensor is read back from tfjs on
 * its own, turned back into the checkpoint layout ([out, in]), merged when adapted (mergeLoraPlain: one extra
 * copy of that weight) and written into its place. Besides the loaded model, the peak is the output bytes
 * plus a few copies of the largest tensor — never a second copy of the whole model as arrays.
 */
import { AppError, throwIfAborted } from '../../errors.ts';
import { checkGgufDtype, GGUF_DTYPES, ModelGgufWriter } from '../../gguf/model-gguf.ts';
import { ggufFolderFiles, type GgufExportInfo } from '../../gguf/model-folder.ts';
import type { ModelSource, OpenOptions } from '../../io/model-source.ts';
import { SafetensorsBuilder, type SafetensorsDtype } from '../../io/safetensors-write.ts';
import { MERGED_MODEL_COPIED_FILES, mergeLoraPlain, mergedModelExtraFiles } from '../../lora/merge.ts';
import { validateAdapter } from '../../lora/peft-load.ts';
import { loraToPlain, type LoraPlainPair } from '../../lora/tensor-data.ts';
import type { LoraWeights } from '../../lora/types.ts';
import type { ModelConfig } from '../../model/types.ts';
import { hfTensorSpecs, requireF32, type HfTensorSpec, type ModelWeights } from '../../model/weights.ts';
import { transpose2d } from '../../model/weights-load.ts';

export type MergeFormat = 'safetensors' | 'gguf';
export type MergeDtype = SafetensorsDtype | 'Q8_0';

const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

export interface MergeRunOptions {
  /** Output format (default safetensors). */
  format?: MergeFormat;
  /** dtype of the written weights (default F32 for safetensors, Q8_0 for gguf; tfjs computes in float32). */
  dtype?: MergeDtype;
  /** The model's name (GGUF general.name); never a path. Default: the base model's name. */
  name?: string;
  /** The base model's name or hub id (GGUF general.base_model). */
  baseModel?: string;
  signal?: AbortSignal;
  /** After each tensor is written: (done, total, checkpoint name). */
  onTensor?: (done: number, total: number, name: string) => void;
}

export type { GgufExportInfo };

export interface MergeRunResult {
  /** The output folder's files, by name. */
  files: Map<string, Uint8Array>;
  /** Tensors written, and how many projections took the adapter's update. */
  tensors: number;
  mergedModules: number;
  gguf?: GgufExportInfo;
}

/** What a format's writer is told before the first tensor. */
interface WriterContext {
  config: ModelConfig;
  specs: HfTensorSpec[];
  baseFiles: ReadonlyMap<string, Uint8Array>;
  dtype: string;
  name: string;
  baseModel?: string;
  merged?: { scaling: number; modules: number };
}

/** Takes every checkpoint tensor once (HF name and layout), then makes the files. */
interface TensorSink {
  put(name: string, data: Float32Array): void;
  finish(): { files: Map<string, Uint8Array>; gguf?: GgufExportInfo };
}

interface MergeWriter {
  dtypes: readonly MergeDtype[];
  defaultDtype: MergeDtype;
  open(ctx: WriterContext): TensorSink;
}

const MERGE_WRITERS: Record<MergeFormat, MergeWriter> = {
  safetensors: {
    dtypes: SAFETENSORS_DTYPES,
    defaultDtype: 'F32',
    open(ctx) {
      const dtype = ctx.dtype as SafetensorsDtype;
      const out = new SafetensorsBuilder(ctx.specs.map((s) => [s.name, s.hfShape] as const), { dtype, metadata: { format: 'pt' } });
      return {
        put: (name, data) => out.put(name, data),
        finish() {
          const files = mergedModelExtraFiles(ctx.baseFiles, dtype);
          files.set('model.safetensors', out.finish());
          return { files };
        },
      };
    },
  },
  gguf: {
    dtypes: GGUF_DTYPES,
    defaultDtype: 'Q8_0',
    open(ctx) {
      const dtype = checkGgufDtype(ctx.dtype);
      const w = new ModelGgufWriter(ctx.config, ctx.baseFiles, {
        dtype,
        name: ctx.name,
        baseModel: ctx.baseModel,
        finetune: ctx.merged ? 'merged-lora' : undefined,
      });
      return {
        put: (name, data) => w.put(name, data),
        finish() {
          const merged = ctx.merged && ctx.baseModel ? { baseModel: ctx.baseModel, ...ctx.merged } : undefined;
          const { files, info } = ggufFolderFiles(w, { config: ctx.config, name: ctx.name, dtype, merged });
          return { files, gguf: info };
        },
      };
    },
  },
};

export const MERGE_FORMAT_NAMES = Object.keys(MERGE_WRITERS) as MergeFormat[];

/** A format's dtypes and its default (what `lm merge --format` and the app offer). */
export function mergeFormatDtypes(format: MergeFormat): { dtypes: readonly MergeDtype[]; defaultDtype: MergeDtype } {
  const { dtypes, defaultDtype } = MERGE_WRITERS[format];
  return { dtypes, defaultDtype };
}

/** The base folder's files a merged model keeps (config.json required; the others when present). */
export async function readBaseFiles(source: ModelSource, o: OpenOptions = {}): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of MERGED_MODEL_COPIED_FILES) {
    throwIfAborted(o.signal);
    const file = await source.open(name, o);
    if (file) out.set(name, await file.read(0, file.size));
  }
  if (!out.has('config.json')) throw new AppError('not-found', `${source.label} has no config.json; a merged model needs the base model's config.`);
  return out;
}

export function checkMergeFormat(format: unknown): MergeFormat {
  if (format === undefined) return 'safetensors';
  if (typeof format !== 'string' || !(MERGE_FORMAT_NAMES as string[]).includes(format)) {
    throw new AppError('bad-input', `The merged model's format must be ${MERGE_FORMAT_NAMES.join(' or ')}, not ${JSON.stringify(format)}.`);
  }
  return format as MergeFormat;
}

export function checkMergeDtype(dtype: unknown, format: MergeFormat = 'safetensors'): MergeDtype {
  const w = MERGE_WRITERS[format];
  if (dtype === undefined) return w.defaultDtype;
  if (typeof dtype !== 'string' || !(w.dtypes as readonly string[]).includes(dtype)) {
    throw new AppError('bad-input', `A ${format} model's dtype must be ${w.dtypes.join(', ')}, not ${JSON.stringify(dtype)}.`);
  }
  return dtype as MergeDtype;
}

/**
 * Merges `lora` (or nothing, for a plain export) into the loaded weights and returns the output files. The
 * adapter is checked against the model first (a mismatch names the first bad tensor); the model's tensors are
 * only read.
 */
export async function runMerge(
  model: { config: ModelConfig; weights: ModelWeights },
  lora: LoraWeights | null,
  baseFiles: ReadonlyMap<string, Uint8Array>,
  o: MergeRunOptions = {},
): Promise<MergeRunResult> {
  requireF32(model.weights, 'Exporting or merging the model');
  const format = checkMergeFormat(o.format);
  const dtype = checkMergeDtype(o.dtype, format);
  if (lora) validateAdapter(model.config, lora);
  const pairs: Map<string, LoraPlainPair> = lora ? await loraToPlain(lora) : new Map(); // module path → A [r, in], B [out, r]
  const specs = hfTensorSpecs(model.config);
  const sink = MERGE_WRITERS[format].open({
    config: model.config,
    specs,
    baseFiles,
    dtype,
    name: o.name ?? o.baseModel ?? model.config.architecture,
    baseModel: o.baseModel,
    merged: lora ? { scaling: lora.scaling, modules: pairs.size } : undefined,
  });
  let merged = 0;
  for (const [i, s] of specs.entries()) {
    throwIfAborted(o.signal);
    const t = s.get(model.weights);
    if (!t) throw new AppError('internal', `The loaded model has no tensor for ${s.name}.`);
    const ours = (await t.data()) as Float32Array; // our layout: [in, out] for 2-D weights
    let data = s.transposed ? transpose2d(ours, s.hfShape[1], s.hfShape[0]) : ours; // [out, in] as stored by HF
    const module = s.name.endsWith('.weight') ? s.name.slice(0, -'.weight'.length) : null;
    const pair = module !== null ? pairs.get(module) : undefined;
    if (module !== null && pair && lora) {
      const w = mergeLoraPlain(new Map([[s.name, { shape: s.hfShape, data }]]), new Map([[module, pair]]), lora.scaling).get(s.name);
      if (!w) throw new AppError('internal', `Merging ${module} gave no tensor.`);
      data = w.data;
      merged++;
    }
    sink.put(s.name, data);
    o.onTensor?.(i + 1, specs.length, s.name);
  }
  if (merged !== pairs.size) {
    throw new AppError('adapter-mismatch', `Only ${merged} of the adapter's ${pairs.size} modules are projections of this model; the adapter does not fit it.`);
  }
  const { files, gguf } = sink.finish();
  return { files, tensors: specs.length, mergedModules: merged, ...(gguf ? { gguf } : {}) };
}
