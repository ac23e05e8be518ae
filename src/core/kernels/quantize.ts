/**
 * The 8-bit weight format (opt-in, `weightFormat: 'int8'` when loading): every matrix whose input size is a
 * multiple of 32 becomes int8 Q [out, in] with one f32 scale per group of 32 inputs (s = max|w| / 127,
 * q = round(w / s): the layout and rounding of llama.cpp's Q8_0), made by the kernels' own quantizer in the
 * wasm heap. The F32 tensors it replaces are freed, so the model takes about a quarter of the memory and
 * only the kernels can run it (no training, adapters or export: load it in F32 for those).
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { ModelWeights } from '../model/weights.ts';
import type { Kernels } from './module.ts';

export const GROUP = 32;

/** A matrix as the kernels read it: F32 [in, out] (a tfjs tensor's data), or 8-bit Q [out, in] + scales. */
export type Proj = { kind: 'f32'; w: number; in: number; out: number } | { kind: 'q8'; q: number; s: number; in: number; out: number };

type Matrix = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
const MATRICES: readonly Matrix[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

export interface QuantizedWeights {
  readonly format: 'int8';
  layers: Array<Record<Matrix, Proj>>;
  /** Token embeddings as the LM head reads them ([in = H, out = V]); 8-bit rows are [V, H]. */
  embedding: Proj;
  head: Proj;
  /** Bytes held in the wasm heap, and the parameters they hold. */
  bytes: number;
  parameters: number;
  dispose(): void;
}

interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

/** Address of a tensor's data in the wasm heap (0 for none). */
export function addressOf(t: tf.Tensor | null): number {
  if (!t) return 0;
  const entry = (tf.backend() as unknown as WasmBackendLike).dataIdMap.get(t.dataId);
  if (!entry) throw new AppError('internal', 'A weight tensor is not in the wasm heap (it was made on another backend).');
  return entry.memoryOffset;
}

/** The 8-bit weights of a model loaded in that format, or null for an F32 model. */
export function quantizedWeightsOf(w: ModelWeights): QuantizedWeights | null {
  const q = w.int8 as QuantizedWeights | null | undefined;
  return q && q.format === 'int8' ? q : null;
}

/** Replaces the model's matrices by 8-bit copies in the wasm heap, in place (see the module comment). */
export function quantizeModel(k: Kernels, w: ModelWeights): QuantizedWeights {
  const existing = quantizedWeightsOf(w);
  if (existing) return existing;
  const owned: number[] = [];
  const freed: tf.Tensor[] = [];
  let bytes = 0;
  let parameters = 0;
  /** t is [in, out] (the model's layout; the embedding [H, V] is the head's [in, out]). */
  const pack = (t: tf.Tensor2D): Proj => {
    const [inF, outF] = t.shape;
    if (inF % GROUP !== 0) return { kind: 'f32', w: addressOf(t), in: inF, out: outF };
    const rows = tf.transpose(t) as tf.Tensor2D; // [out, in]
    try {
      const q = k.malloc(outF * inF);
      const s = k.malloc((outF * inF * 4) / GROUP);
      owned.push(q, s);
      bytes += outF * inF + (outF * inF * 4) / GROUP;
      parameters += outF * inF;
      k.exports.srs_quantize_rows(addressOf(rows), outF, inF, q, s);
      freed.push(t);
      return { kind: 'q8', q, s, in: inF, out: outF };
    } finally {
      rows.dispose();
    }
  };
  const layers = w.layers.map((l) => Object.fromEntries(MATRICES.map((m) => [m, pack(l[m])])) as Record<Matrix, Proj>);
  const embedding = pack(w.embedding);
  const head = w.lmHead ? pack(w.lmHead) : embedding;
  const quantized: QuantizedWeights = {
    format: 'int8',
    layers,
    embedding,
    head,
    bytes,
    parameters,
    dispose: () => {
      for (const p of owned.splice(0)) k.free(p);
    },
  };
  // The F32 copies go; a placeholder-free structure: their fields are null from here on.
  const none = null as unknown as tf.Tensor2D;
  for (const l of w.layers) for (const m of MATRICES) if (freed.includes(l[m])) l[m] = none;
  if (freed.includes(w.embedding)) w.embedding = none;
  if (w.lmHead && freed.includes(w.lmHead)) w.lmHead = none;
  tf.dispose(freed);
  w.int8 = quantized;
  return quantized;
}
