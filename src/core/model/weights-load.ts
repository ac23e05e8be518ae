/**
 * Reads a checkpoint's tensors (one or more safetensors files) into ModelWeights: one tensor at a time is
 * read, widened to float32, transposed into our layout, uploaded, and its array dropped — a model is never
 * held twice. Shapes are checked against the config; a missing or misshapen tensor is named in the error.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError, throwIfAborted } from '../errors.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import type { ModelConfig } from './types.ts';
import { allWeightTensors, emptyWeights, hfTensorSpecs, type ModelWeights } from './weights.ts';

export interface WeightsLoadOptions {
  signal?: AbortSignal;
  /** Called after each tensor with (done, total). */
  onTensor?: (done: number, total: number, name: string) => void;
}

export async function loadWeights(config: ModelConfig, files: readonly SafetensorsFile[], o: WeightsLoadOptions = {}): Promise<ModelWeights> {
  const where = new Map<string, SafetensorsFile>();
  for (const f of files) {
    for (const name of f.names()) {
      const other = where.get(name);
      if (other) throw new AppError('safetensors', `Tensor ${JSON.stringify(name)} is in both ${other.name} and ${f.name}. The checkpoint's shards are inconsistent; download it again.`);
      where.set(name, f);
    }
  }
  const specs = hfTensorSpecs(config);
  for (const s of specs) {
    const f = where.get(s.name);
    if (!f) {
      throw new AppError(
        'model-config',
        `The checkpoint has no tensor ${s.name}, which config.json (${config.architecture}, ${config.numLayers} layers${config.tieWordEmbeddings ? ', tied embeddings' : ''}) requires. The weights do not belong to this config.`,
      );
    }
    const e = f.entry(s.name);
    if (!e) throw new Error(`unreachable: ${s.name}`);
    if (e.shape.length !== s.hfShape.length || e.shape.some((d, i) => d !== s.hfShape[i])) {
      throw new AppError('model-config', `${f.name}: tensor ${s.name} has shape [${e.shape.join(', ')}], but config.json implies [${s.hfShape.join(', ')}]. The weights do not belong to this config.`);
    }
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16' && e.dtype !== 'F64') {
      throw new AppError('unsupported', `unsupported: ${f.name}: tensor ${s.name} is stored as ${e.dtype}. Only F32, F16 and BF16 (unquantized) checkpoints can be loaded.`);
    }
  }
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
      const t = await (where.get(s.name) as SafetensorsFile).read(s.name);
      if (t.values.dtype !== 'float32') throw new Error(`unreachable: ${s.name} widened to ${t.values.dtype}`);
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

