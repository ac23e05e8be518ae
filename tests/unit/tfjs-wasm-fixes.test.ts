/**
 * The tfjs-wasm kernel fixes as selectBackend installs them (src/core/backend/wasm-kernel-fixes.ts): with
 * nothing but `selectBackend('wasm')`, the LoRA loss gradients on wasm equal cpu's and the fixtures' float64
 * reference, and transposed products (2-D through the rewrite, batched through the original kernel) are right.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, toVariable } from '../../src/core/lora/init.ts';
import { loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { forwardHidden } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { causalLmLoss, causalLmLossFromHidden } from '../../src/core/train/loss.ts';
import { loraParamMap } from '../../src/core/train/lora-params.ts';
import { fixturesDir } from '../fixtures/paths.ts';
import { maxRelError } from './train-helpers.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

interface Reference {
  input_ids: number[][];
  labels: number[][];
  loss_adapted: number;
  grads: Record<string, number[][]>;
}

/** Loss and LoRA gradients (by PEFT name) of tiny-llama's reference batch on the current backend. */
async function fixtureLossAndGrads(): Promise<{ loss: number; grads: Map<string, Float32Array>; ref: Reference }> {
  const root = join(fixturesDir(), 'tiny-llama');
  const ref = JSON.parse(readFileSync(join(root, 'reference.json'), 'utf8')) as Reference;
  const model = await loadModel(await nodeDirSource(join(root, 'model')));
  const file = await loadPeftAdapter(await nodeDirSource(join(root, 'adapter')), model.config);
  const lora: LoraWeights = { config: file.config, scaling: file.scaling, modules: new Map() };
  for (const [path, { a, b }] of file.modules) lora.modules.set(path, { a: toVariable(tf.clone(a)), b: toVariable(tf.clone(b)) });
  disposeLora(file);
  const params = loraParamMap(lora);
  const [B, T] = [ref.input_ids.length, ref.input_ids[0].length];
  const ids = tf.tensor2d(ref.input_ids.flat(), [B, T], 'int32');
  const labels = tf.tensor2d(ref.labels.flat(), [B, T], 'int32');
  const head = model.weights.lmHead ?? model.weights.embedding;
  const { value, grads } = tf.variableGrads(() => causalLmLossFromHidden(forwardHidden(model, ids, { linears: loraLinears(lora) }), head, labels, 7), [...params.values()]);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of params) out.set(name, Float32Array.from(grads[v.name].dataSync() as Float32Array));
  const loss = value.dataSync()[0];
  tf.dispose([value, ids, labels, ...Object.values(grads)]);
  disposeLora(lora);
  model.dispose();
  return { loss, grads: out, ref };
}

/** Runs `f` on cpu and on wasm (fixes installed) and returns both results as plain arrays. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: number[][]; wasm: number[][]; shapes: number[][][] }> {
  const read = (r: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(r) ? r : [r];
    const out = { values: list.map((t) => Array.from(t.dataSync())), shapes: list.map((t) => t.shape) };
    tf.dispose(list);
    return out;
  };
  await useNodeBackend('cpu');
  const cpu = read(f());
  await useNodeBackend('wasm');
  const wasm = read(f());
  expect(wasm.shapes).toEqual(cpu.shapes);
  return { cpu: cpu.values, wasm: wasm.values, shapes: [cpu.shapes, wasm.shapes] };
}

describe('wasm kernel fixes installed by selectBackend', () => {
  it('slice, unstack and split (heap-view copies) equal the cpu backend on every shape', async () => {
    const data = (n: number) => Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
    const cases: Array<() => tf.Tensor | tf.Tensor[]> = [
      () => tf.slice(tf.tensor1d(data(10)), 3, 4),
      () => tf.slice(tf.tensor2d(data(30), [5, 6]), [1, 2], [3, -1]),
      () => tf.slice(tf.tensor3d(data(60), [3, 4, 5]), [1, 0, 0], [1, 4, 5]),
      () => tf.slice(tf.tensor3d(data(60), [3, 4, 5]), [0, 1, 2], [3, 2, 2]),
      () => tf.slice(tf.tensor4d(data(120), [2, 3, 4, 5]), [1, 1, 0, 1], [1, 2, 4, 3]),
      () => tf.slice(tf.tensor(data(240), [2, 2, 3, 4, 5]), [0, 1, 1, 0, 2], [2, 1, 2, 4, 3]),
      () => tf.slice(tf.tensor2d(Int32Array.from(data(12), (x) => Math.round(x)), [3, 4], 'int32'), [1, 1], [2, 2]),
      () => tf.unstack(tf.tensor3d(data(60), [3, 4, 5])),
      () => tf.unstack(tf.tensor3d(data(60), [3, 4, 5]), 1),
      () => tf.unstack(tf.tensor3d(data(60), [3, 4, 5]), 2),
      () => tf.split(tf.tensor2d(data(30), [5, 6]), [1, 3, 2], 1),
      () => tf.split(tf.tensor3d(data(60), [3, 4, 5]), 3, 0),
      () => tf.split(tf.tensor4d(data(120), [2, 3, 4, 5]), [2, 2], 2),
    ];
    for (const [i, f] of cases.entries()) {
      const { cpu, wasm } = await onBoth(f);
      expect(wasm, `case ${i}`).toEqual(cpu);
    }
    // Gradients through them (slice's gradient pads; unstack's stacks).
    const { cpu, wasm } = await onBoth(() => {
      const x = tf.tensor3d(data(60), [3, 4, 5]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.stack(tf.unstack(tf.slice(t, [0, 1, 0], [3, 2, 5]), 1).reverse()), tf.range(0, 30).reshape([2, 3, 5]))))(x);
      x.dispose();
      return g;
    });
    expect(wasm).toEqual(cpu);
  });

  it('LoRA loss gradients on wasm equal cpu and the fixtures (float one-hot fixed)', async () => {
    await useNodeBackend('cpu');
    const cpu = await fixtureLossAndGrads();
    await useNodeBackend('wasm');
    const wasm = await fixtureLossAndGrads();
    expect(Math.abs(wasm.loss - wasm.ref.loss_adapted)).toBeLessThan(1e-4);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-5);
    expect(wasm.grads.size).toBe(Object.keys(wasm.ref.grads).length);
    for (const [name, g] of wasm.grads) {
      expect(maxRelError(g, wasm.ref.grads[name].flat()), name).toBeLessThan(1e-4);
      expect(maxRelError(g, cpu.grads.get(name)!), name).toBeLessThan(1e-4);
    }
    // The plain causal-LM loss (full logits) too: it uses the same one-hot gradient.
    const z = tf.variable(tf.tensor3d(Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i)), [2, 3, 5]));
    const labels = tf.tensor2d([[0, 1, 2], [0, 3, -100]], [2, 3], 'int32');
    const { grads } = tf.variableGrads(() => causalLmLoss(z as unknown as tf.Tensor3D, labels), [z]);
    const g = grads[z.name].dataSync();
    // d loss / d z at (row 0, t 0) = (softmax − onehot(1)) / 3 counted positions: its entries sum to 0 and the target's is negative.
    const first = Array.from(g.slice(0, 5));
    expect(Math.abs(first.reduce((s, x) => s + x, 0))).toBeLessThan(1e-6);
    expect(first[1]).toBeLessThan(0);
    tf.dispose([z, labels, ...Object.values(grads)]);
  });

  it('transposed products: 2-D (rewritten) and batched (left to the kernel) give the right numbers', async () => {
    await useNodeBackend('wasm');
    const a = tf.tensor2d(Float32Array.from({ length: 6 * 5 }, (_, i) => Math.sin(i)), [6, 5]);
    const b = tf.tensor2d(Float32Array.from({ length: 4 * 5 }, (_, i) => Math.cos(i)), [4, 5]);
    const ref = tf.matMul(a, tf.transpose(b)).dataSync() as Float32Array; // [6, 4]
    expect(maxRelError(tf.matMul(a, b, false, true).dataSync(), ref)).toBeLessThan(1e-6);
    expect(maxRelError(tf.matMul(tf.transpose(a), b, true, true).dataSync(), ref)).toBeLessThan(1e-6);
    expect(maxRelError(tf.matMul(tf.reshape(a, [1, 6, 5]), tf.reshape(b, [1, 4, 5]), false, true).dataSync(), ref)).toBeLessThan(1e-6);
    const q = tf.tensor3d(Float32Array.from({ length: 3 * 2 * 4 }, (_, i) => Math.sin(i * 0.3)), [3, 2, 4]);
    const k = tf.tensor3d(Float32Array.from({ length: 3 * 5 * 4 }, (_, i) => Math.cos(i * 0.2)), [3, 5, 4]);
    const batched = tf.matMul(q, k, false, true).dataSync(); // [3, 2, 5]
    // Independent reference in plain JS.
    const qd = q.dataSync();
    const kd = k.dataSync();
    const want = new Float32Array(3 * 2 * 5);
    for (let n = 0; n < 3; n++) for (let i = 0; i < 2; i++) for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let d = 0; d < 4; d++) s += qd[(n * 2 + i) * 4 + d] * kd[(n * 5 + j) * 4 + d];
      want[(n * 2 + i) * 5 + j] = s;
    }
    expect(maxRelError(batched, want)).toBeLessThan(1e-6);
    tf.dispose([a, b, q, k]);
  });
});
