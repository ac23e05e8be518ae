/**
 * The fast cached decoder (model/decoder.ts) on the wasm kernels: a KernelRunner over a KernelKvCache. It applies
 * when the wasm backend runs with the kernels attached and the model's weights are in its heap, with no adapter
 * or one that is a low-rank term (LoRA at inference: Linears.lowRank); elsewhere it returns null and generation
 * uses the tfjs decoder.
 */
import * as tf from '@tensorflow/tfjs';
import { setFastDecoder, type CachedDecoder, type FastDecoderFactory } from '../model/decoder.ts';
import type { LlamaModel } from '../model/llama.ts';
import { KernelRunner, kernelsSupport } from './forward.ts';
import { KernelKvCache } from './kv-cache.ts';
import { activeKernels, attachKernels, type KernelFiles, type Kernels } from './module.ts';

/** One runner (scratch space) per model weights, reused by every generation. */
const runners = new WeakMap<object, KernelRunner>();

export const kernelDecoder: FastDecoderFactory = (model: LlamaModel, batch, o): CachedDecoder | null => {
  const kernels = activeKernels();
  if (!kernels || (o.linears && !o.linears.lowRank) || !kernelsSupport(model.config) || tf.getBackend() !== 'wasm') return null;
  const lowRank = o.linears?.lowRank ?? null;
  let runner = runners.get(model.weights);
  if (!runner || runner.kernels !== kernels) runners.set(model.weights, (runner = new KernelRunner(kernels, model.config, model.weights)));
  const cache = new KernelKvCache(kernels, model.config, batch);
  if (o.length) cache.reserve(o.length);
  const r = runner;
  return {
    kind: `wasm kernels (${kernels.threads} thread${kernels.threads === 1 ? '' : 's'})`,
    async step(ids, newReal) {
      r.step(cache, ids, newReal, lowRank);
      return { row: (b) => r.logitsRow(b), argmax: (b) => r.argmax(b) };
    },
    keepRows: (rows) => cache.keepRows(rows),
    dispose: () => cache.dispose(),
  };
};

/** Attaches the kernels to the wasm backend just started and makes generation use them; null (and the tfjs path) when they cannot load. */
export async function useKernels(files: KernelFiles, threads: number): Promise<Kernels | null> {
  const kernels = await attachKernels(files, threads);
  setFastDecoder(kernels ? kernelDecoder : null);
  return kernels;
}
