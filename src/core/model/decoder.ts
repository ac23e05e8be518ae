/**
 * A cached decoder: what generation steps through. It holds the key/value cache of B rows, feeds new tokens
 * [B][T] and gives the logits of each row's last position. Two implementations:
 *
 *   tfjs     the decoder on tfjs ops (llama.ts forwardCached, kv-cache.ts), any backend, with or without an
 *            adapter's projections;
 *   a fast one registered by the wasm kernels (src/core/kernels/decoder.ts, with `setFastDecoder`): the whole
 *            pass in our WebAssembly kernels, used where it applies (wasm backend, no projection wrappers).
 *
 * The registry keeps this folder free of the kernels' (they import the model, not the other way round).
 */
import * as tf from '@tensorflow/tfjs';
import { argmax } from '../text/sampling.ts';
import { KvCache } from './kv-cache.ts';
import type { Linears } from './linear.ts';
import { forwardCached, type LlamaModel } from './llama.ts';

/** The logits of one step: [B][V], read lazily. */
export interface StepLogits {
  /** Row b's logits [V] (a copy the caller may change). */
  row(b: number): Float32Array;
  /** Row b's greedy token (first index on ties), without copying the row where the decoder can. */
  argmax(b: number): number;
}

export interface CachedDecoder {
  /** Which implementation runs (for reports): 'tfjs' or 'wasm kernels'. */
  readonly kind: string;
  /** Feeds ids [B][T] (equal T); `newReal[b][t]` = 0 marks left padding. */
  step(ids: number[][], newReal?: number[][] | null): Promise<StepLogits>;
  /** Keeps only these rows (ascending indices). */
  keepRows(rows: readonly number[]): void;
  dispose(): void;
}

export interface DecoderOptions {
  linears?: Linears | null;
  /** tfjs KV cache block size (kv-cache.ts). */
  blockSize?: number;
  /** Positions the cache will hold at most (prompt + new tokens), where known: room is made once. */
  length?: number;
}

export type FastDecoderFactory = (model: LlamaModel, batch: number, o: DecoderOptions) => CachedDecoder | null;

let fast: FastDecoderFactory | null = null;

/** Registers (or, with null, removes) the fast decoder; it returns null where it does not apply. */
export function setFastDecoder(factory: FastDecoderFactory | null): void {
  fast = factory;
}

/** The fast decoder where it applies, else the tfjs one. */
export function openDecoder(model: LlamaModel, batch: number, o: DecoderOptions = {}): CachedDecoder {
  return fast?.(model, batch, o) ?? tfjsDecoder(model, batch, o);
}

export function tfjsDecoder(model: LlamaModel, batch: number, o: DecoderOptions = {}): CachedDecoder {
  const cache = new KvCache(model.config.numLayers, batch, o.blockSize ?? 64);
  const V = model.config.vocabSize;
  return {
    kind: 'tfjs',
    async step(ids, newReal) {
      const input = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
      let logits: tf.Tensor2D;
      try {
        logits = forwardCached(model, cache, input, { linears: o.linears ?? null, newReal: newReal ?? undefined });
      } finally {
        input.dispose();
      }
      let data: Float32Array;
      try {
        data = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
      return { row: (b) => data.subarray(b * V, (b + 1) * V), argmax: (b) => argmax(data.subarray(b * V, (b + 1) * V)) };
    },
    keepRows: (rows) => cache.keepRows(rows),
    dispose: () => cache.dispose(),
  };
}
