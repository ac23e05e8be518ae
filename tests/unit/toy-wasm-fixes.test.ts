/**
 * The tfjs-wasm kernel fixes (src/core/toy/wasm-kernel-fixes.ts): float one-hot values, transposed products,
 * and the regression that found them: full-model gradients of the causal-LM loss on wasm equal cpu's.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import { forward } from '../../src/core/model/llama.ts';
import { causalLmLoss } from '../../src/core/train/loss.ts';
import { initialToyWeights } from '../../src/core/toy/base-train.ts';
import { proposedToyConfigJson } from '../../src/core/toy/index.ts';
import { useWasmKernelFixes } from '../../src/core/toy/wasm-kernel-fixes.ts';

const TINY = { hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, maxPositionEmbeddings: 64 };

/** Loss and gradients (by HF name) of a seeded tiny model on the current backend. */
function lossAndGrads(): { loss: number; grads: Map<string, Float32Array> } {
  const config = parseModelConfig(proposedToyConfigJson(50, TINY));
  const { weights, params } = initialToyWeights(config, 7, 0.2);
  const ids = tf.tensor2d(Int32Array.from({ length: 2 * 24 }, (_, i) => (i * 7 + (i >> 3)) % 50), [2, 24], 'int32');
  const labels = tf.tensor2d(Int32Array.from({ length: 2 * 24 }, (_, i) => (i % 5 === 0 ? -100 : (i * 7 + (i >> 3)) % 50)), [2, 24], 'int32');
  const { value, grads } = tf.variableGrads(() => causalLmLoss(forward({ config, weights }, ids), labels), [...params.values()]);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of params) out.set(name, Float32Array.from(grads[v.name].dataSync() as Float32Array));
  const loss = value.dataSync()[0];
  tf.dispose([value, ids, labels, ...Object.values(grads), ...params.values()]);
  return { loss, grads: out };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

describe('tfjs-wasm kernel fixes', () => {
  it('one-hot in float32 holds ones, and transposed products equal explicit transposes', async () => {
    await useNodeBackend('wasm');
    expect(useWasmKernelFixes()).toBe(true);
    expect(useWasmKernelFixes()).toBe(true); // idempotent
    const hot = tf.oneHot(tf.tensor1d([1, 0, 2], 'int32'), 3, 1, 0, 'float32');
    expect(hot.dtype).toBe('float32');
    expect(Array.from(hot.dataSync())).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1]);
    expect(Array.from(tf.oneHot(tf.tensor1d([2], 'int32'), 3).dataSync())).toEqual([0, 0, 1]);

    const a = tf.tensor2d(Float32Array.from({ length: 6 * 5 }, (_, i) => Math.sin(i)), [6, 5]);
    const b = tf.tensor2d(Float32Array.from({ length: 4 * 5 }, (_, i) => Math.cos(i)), [4, 5]);
    const viaFlag = tf.matMul(a, b, false, true).dataSync() as Float32Array; // [6, 4]
    const viaTranspose = tf.matMul(a, tf.transpose(b)).dataSync() as Float32Array;
    expect(maxRelDiff(viaTranspose, viaFlag)).toBeLessThan(1e-6);
    const both = tf.matMul(tf.transpose(a), b, true, true).dataSync() as Float32Array; // aᵀᵀ·bᵀ: [6, 4]
    expect(maxRelDiff(viaTranspose, both)).toBeLessThan(1e-6);
    const q = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => Math.sin(i * 0.3)), [2, 2, 3, 4]);
    const k = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 5 * 4 }, (_, i) => Math.cos(i * 0.2)), [2, 2, 5, 4]);
    const scores = tf.matMul(q, k, false, true).dataSync() as Float32Array; // [2, 2, 3, 5]
    const ref = tf.matMul(q, tf.transpose(k, [0, 1, 3, 2])).dataSync() as Float32Array;
    expect(maxRelDiff(ref, scores)).toBeLessThan(1e-6);
  });

  it('gives wasm the same full-model loss gradients as cpu', async () => {
    await useNodeBackend('cpu');
    const cpu = lossAndGrads();
    await useNodeBackend('wasm');
    useWasmKernelFixes();
    const wasm = lossAndGrads();
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4);
    for (const [name, g] of cpu.grads) expect(maxRelDiff(g, wasm.grads.get(name)!), name).toBeLessThan(1e-3);
  });
});
