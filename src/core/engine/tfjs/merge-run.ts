/**
 * One merge: a loaded model's base weights plus a LoRA adapter → a full model folder that loads as a plain
 * model (`model.safetensors` in Hugging Face names and layouts, W' = W + scaling · B·A on every adapted
 * projection, plus the base folder's config, generation settings and tokenizer files). The tfjs host's
 * `mergedModel` (the app's "Download merged model") and `lm merge` both run it.
 *
 * Memory: the output file is laid out from the shapes first; then each base tensor is read back from tfjs on
 * its own, turned back into the checkpoint layout ([out, in]), merged when adapted (mergeLoraPlain: one extra
 * copy of that weight) and written into its place. Besides the loaded model, the peak is the output bytes
 * plus a few copies of the largest tensor — never a second copy of the whole model as arrays.
 */
import { AppError, throwIfAborted } from '../../errors.ts';
import type { ModelSource, OpenOptions } from '../../io/model-source.ts';
import { SafetensorsBuilder, type SafetensorsDtype } from '../../io/safetensors-write.ts';
import { MERGED_MODEL_COPIED_FILES, mergeLoraPlain, mergedModelExtraFiles } from '../../lora/merge.ts';
import { validateAdapter } from '../../lora/peft-load.ts';
import { loraToPlain } from '../../lora/tensor-data.ts';
import type { LoraWeights } from '../../lora/types.ts';
import type { ModelConfig } from '../../model/types.ts';
import { hfTensorSpecs, type ModelWeights } from '../../model/weights.ts';
import { transpose2d } from '../../model/weights-load.ts';

export const MERGE_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

export interface MergeRunOptions {
  /** dtype of the merged weights (default F32; tfjs computes in float32 whatever the base stored). */
  dtype?: SafetensorsDtype;
  signal?: AbortSignal;
  /** After each tensor is written: (done, total, checkpoint name). */
  onTensor?: (done: number, total: number, name: string) => void;
}

export interface MergeRunResult {
  /** `model.safetensors` and the copied base files, by name. */
  files: Map<string, Uint8Array>;
  /** Tensors in model.safetensors. */
  tensors: number;
  /** Projections that took the adapter's update. */
  mergedModules: number;
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

export function checkMergeDtype(dtype: unknown): SafetensorsDtype {
  if (dtype === undefined) return 'F32';
  if (typeof dtype !== 'string' || !(MERGE_DTYPES as readonly string[]).includes(dtype)) {
    throw new AppError('bad-input', `The merged model's dtype must be ${MERGE_DTYPES.join(', ')}, not ${JSON.stringify(dtype)}.`);
  }
  return dtype as SafetensorsDtype;
}

/**
 * Merges `lora` into the loaded weights and returns the folder's files. The adapter is checked against the
 * model first (a mismatch names the first bad tensor); the model's tensors are only read.
 */
export async function runMerge(
  model: { config: ModelConfig; weights: ModelWeights },
  lora: LoraWeights,
  baseFiles: ReadonlyMap<string, Uint8Array>,
  o: MergeRunOptions = {},
): Promise<MergeRunResult> {
  const dtype = checkMergeDtype(o.dtype);
  validateAdapter(model.config, lora);
  const pairs = await loraToPlain(lora); // module path → A [r, in], B [out, r]
  const files = mergedModelExtraFiles(baseFiles, dtype);
  const specs = hfTensorSpecs(model.config);
  const out = new SafetensorsBuilder(
    specs.map((s) => [s.name, s.hfShape] as const),
    { dtype, metadata: { format: 'pt' } },
  );
  let merged = 0;
  for (const [i, s] of specs.entries()) {
    throwIfAborted(o.signal);
    const t = s.get(model.weights);
    if (!t) throw new AppError('internal', `The loaded model has no tensor for ${s.name}.`);
    const ours = (await t.data()) as Float32Array; // our layout: [in, out] for 2-D weights
    let data = s.transposed ? transpose2d(ours, s.hfShape[1], s.hfShape[0]) : ours; // [out, in] as stored by HF
    const module = s.name.endsWith('.weight') ? s.name.slice(0, -'.weight'.length) : null;
    const pair = module !== null ? pairs.get(module) : undefined;
    if (module !== null && pair) {
      const w = mergeLoraPlain(new Map([[s.name, { shape: s.hfShape, data }]]), new Map([[module, pair]]), lora.scaling).get(s.name);
      if (!w) throw new AppError('internal', `Merging ${module} gave no tensor.`);
      data = w.data;
      merged++;
    }
    out.put(s.name, data);
    o.onTensor?.(i + 1, specs.length, s.name);
  }
  if (merged !== pairs.size) {
    throw new AppError('adapter-mismatch', `Only ${merged} of the adapter's ${pairs.size} modules are projections of this model; the adapter does not fit it.`);
  }
  files.set('model.safetensors', out.finish());
  return { files, tensors: specs.length, mergedModules: merged };
}
