/**
 * Reads a checkpoint's tensors (one or more safetensors files) into ModelWeights: one tensor at a time is
 * read, widened to float32, transposed into our layout, uploaded, and its array dropped — a model is never
 * held twice. The headers are checked against the config first (validate.ts: a missing, misshapen or unexpected
 * tensor is named in the error), and each tensor's values are checked to be finite as it is read.
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfAborted } from '../errors.ts';
import { assertFinite } from '../io/finite.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import type { ModelConfig } from './types.ts';
import { validateModelTensors, type TensorDescriptor } from './validate.ts';
import { allWeightTensors, emptyWeights, hfTensorSpecs, type ModelWeights } from './weights.ts';

const NON_FINITE_ADVICE = 'A model with NaN or infinite weights cannot compute anything; the file is damaged or the training that made it diverged.';

/** The tensors of opened safetensors files as the validator takes them (from the headers only). */
export function tensorDescriptors(files: readonly SafetensorsFile[]): TensorDescriptor[] {
  return files.flatMap((f) => [...f.header.tensors.values()].map((e) => ({ name: e.name, shape: e.shape, dtype: e.dtype, file: f.name })));
}

export interface WeightsLoadOptions {
  signal?: AbortSignal;
  /** Called after each tensor with (done, total). */
  onTensor?: (done: number, total: number, name: string) => void;
}

export async function loadWeights(config: ModelConfig, files: readonly SafetensorsFile[], o: WeightsLoadOptions = {}): Promise<ModelWeights> {
  // Everything is checked from the headers before the first weight is read.
  validateModelTensors(config, tensorDescriptors(files));
  const where = new Map<string, SafetensorsFile>();
  for (const f of files) for (const name of f.names()) where.set(name, f);
  const specs = hfTensorSpecs(config);
  // Read in file order, so a disk- or network-backed source is read front to back.
  const order = [...specs].sort((a, b) => {
    const fa = files.indexOf(where.get(a.name) as SafetensorsFile);
    const fb = files.indexOf(where.get(b.name) as SafetensorsFile);
    return fa - fb || (where.get(a.name)?.entry(a.name)?.begin ?? 0) - (where.get(b.name)?.entry(b.name)?.begin ?? 0);
  });
  const weights = emptyWeights(config);
  try {
    let done = 0;
    for (const s of order) {
      throwIfAborted(o.signal);
      const file = where.get(s.name) as SafetensorsFile;
      const t = await file.read(s.name);
      if (t.values.dtype !== 'float32') throw new Error(`unreachable: ${s.name} widened to ${t.values.dtype}`);
      assertFinite(file.name, s.name, s.hfShape, t.values.data, NON_FINITE_ADVICE);
      const data = s.transposed ? transpose2d(t.values.data, s.hfShape[0], s.hfShape[1]) : t.values.data;
      const shape = s.transposed ? [s.hfShape[1], s.hfShape[0]] : s.hfShape;
      s.set(weights, tf.tensor(data, shape, 'float32'));
      o.onTensor?.(++done, order.length, s.name);
    }
  } catch (e) {
    tf.dispose(allWeightTensors(weights).filter((t) => t != null)); // the ones uploaded so far
    throw e;
  }
  return weights;
}

/** [rows, cols] → [cols, rows], in cache-friendly blocks. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const BS = 64;
  for (let r0 = 0; r0 < rows; r0 += BS) {
    const r1 = Math.min(rows, r0 + BS);
    for (let c0 = 0; c0 < cols; c0 += BS) {
      const c1 = Math.min(cols, c0 + BS);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c];
      }
    }
  }
  return out;
}

