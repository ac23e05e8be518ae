/**
 * Weight formats the kernels own (opt-in when loading, inference only). The model's matrices are replaced by
 * copies in the wasm heap, made by the kernels, and the F32 tensors they replace are freed, so only the kernels
 * can run the model: generation, with or without an adapter (its low-rank terms run on the kernels too), but no
 * training, merge or export (load it in F32 for those).
 *
 * - `int8`: every matrix whose input size is a multiple of 32 becomes int8 Q [out, in] with one f32 scale per
 *   group of 32 inputs (s = max|w| / 127, q = round(w / s): the layout and rounding of llama.cpp's Q8_0), about
 *   a quarter of the memory.
 * - `f32-packed`: every matrix whose output size is a multiple of 8 becomes panels of 8 output columns,
 *   P [out/8][in][8] (decode.c: srs_pack_panels), the same values in the same memory, laid out for decoding:
 *   each panel is one contiguous run, where W's own layout [in, out] has decode read eight rows at a time.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { ModelWeights } from '../model/weights.ts';
import type { Kernels } from './module.ts';

export const GROUP = 32;
/** Output columns per panel of the packed F32 format (decode.c: NR). */
export const PANEL = 8;

/**
 * A matrix as the kernels read it: F32 [in, out] (a tfjs tensor's data), packed F32 panels P [out/8][in][8], or
 * 8-bit Q [out, in] + scales.
 */
export type Proj =
  | { kind: 'f32'; w: number; in: number; out: number }
  | { kind: 'f32p'; p: number; in: number; out: number }
  | { kind: 'q8'; q: number; s: number; in: number; out: number };

export type OwnedFormat = 'int8' | 'f32-packed';

type Matrix = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
const MATRICES: readonly Matrix[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

export interface OwnedWeights {
  readonly format: OwnedFormat;
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
  if (t.isDisposed) throw new AppError('internal', 'A weight tensor was disposed while the model is still in use.');
  const entry = (tf.backend() as unknown as WasmBackendLike).dataIdMap.get(t.dataId);
  if (!entry) throw new AppError('internal', 'A weight tensor is not in the wasm heap (it was made on another backend).');
  return entry.memoryOffset;
}

/** The kernel-owned weights of a model loaded in such a format, or null for an F32 model. */
export function ownedWeightsOf(w: ModelWeights): OwnedWeights | null {
  const o = w.owned as OwnedWeights | null | undefined;
  return o && (o.format === 'int8' || o.format === 'f32-packed') ? o : null;
}

/** One matrix [in, out] in the format, or null to keep it as it is (F32 in tfjs). */
type Convert = (t: tf.Tensor2D, own: (bytes: number) => number) => Proj | null;

const CONVERT: Record<OwnedFormat, (k: Kernels) => Convert> = {
  int8: (k) => (t, own) => {
    const [inF, outF] = t.shape;
    if (inF % GROUP !== 0) return null;
    const rows = tf.transpose(t) as tf.Tensor2D; // [out, in]
    try {
      const q = own(outF * inF);
      const s = own((outF * inF * 4) / GROUP);
      k.exports.srs_quantize_rows(addressOf(rows), outF, inF, q, s);
      return { kind: 'q8', q, s, in: inF, out: outF };
    } finally {
      rows.dispose();
    }
  },
  'f32-packed': (k) => (t, own) => {
    const [inF, outF] = t.shape;
    if (outF % PANEL !== 0) return null;
    const p = own(inF * outF * 4);
    k.exports.srs_pack_panels(addressOf(t), inF, outF, p);
    return { kind: 'f32p', p, in: inF, out: outF };
  },
};

/** Replaces an F32 model's matrices by kernel-owned copies in `format`, in place (see the module comment). */
export function convertModel(k: Kernels, w: ModelWeights, format: OwnedFormat): OwnedWeights {
  const convert = CONVERT[format](k);
  const owned: number[] = [];
  const freed: tf.Tensor[] = [];
  let bytes = 0;
  let parameters = 0;
  const own = (n: number) => {
    const p = k.malloc(n);
    owned.push(p);
    bytes += n;
    return p;
  };
  /** t is [in, out] (the model's layout; the embedding [H, V] is the head's [in, out]). */
  const pack = (t: tf.Tensor2D): Proj => {
    try {
      const p = convert(t, own);
      if (!p) return { kind: 'f32', w: addressOf(t), in: t.shape[0], out: t.shape[1] };
      parameters += t.size;
      // Freed at once, so that the next copy can reuse its memory (peak: the weights and one matrix). On an error
      // the caller disposes the half-converted model.
      freed.push(t);
      t.dispose();
      return p;
    } catch (e) {
      for (const q of owned.splice(0)) k.free(q);
      throw e;
    }
  };
  const layers = w.layers.map((l) => Object.fromEntries(MATRICES.map((m) => [m, pack(l[m])])) as Record<Matrix, Proj>);
  const embedding = pack(w.embedding);
  const head = w.lmHead ? pack(w.lmHead) : embedding;
  const result: OwnedWeights = {
    format,
    layers,
    embedding,
    head,
    bytes,
    parameters,
    dispose: () => {
      for (const p of owned.splice(0)) k.free(p);
    },
  };
  // The F32 tensors are gone: their fields are null from here on.
  const none = null as unknown as tf.Tensor2D;
  for (const l of w.layers) for (const m of MATRICES) if (freed.includes(l[m])) l[m] = none;
  if (freed.includes(w.embedding)) w.embedding = none;
  if (w.lmHead && freed.includes(w.lmHead)) w.lmHead = none;
  w.owned = result;
  return result;
}
