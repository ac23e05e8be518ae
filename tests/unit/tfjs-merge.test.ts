/**
 * The tfjs engine's mergedModel on the fixtures (in-process host, and over the worker protocol, wasm): the
 * files it returns load as a plain model whose logits are the reference's adapted logits; progress counts every tensor; the engine's tensors
 * are untouched and nothing leaks; unknown adapters, bad dtypes and a stopped call fail with typed errors.
 * Also the safetensors builder the merge writes with (laid out first, filled one tensor at a time).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { serveWorker } from '../../src/core/engine/protocol-server.ts';
import type { AdapterFiles, TfjsApi } from '../../src/core/engine/tfjs/api.ts';
import { createTfjsHost } from '../../src/core/engine/tfjs/host.ts';
import type { TfjsLocalEngine } from '../../src/core/engine/tfjs/local.ts';
import { runMerge } from '../../src/core/engine/tfjs/merge-run.ts';
import { createNodeTfjs, nodeTfjsHostDeps } from '../../src/core/engine/tfjs/node-local.ts';
import { TfjsWorkerEngine } from '../../src/core/engine/tfjs/worker-engine.ts';
import { memorySource } from '../../src/core/io/memory-source.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { SafetensorsBuilder, writeSafetensors, type TensorToWrite } from '../../src/core/io/safetensors-write.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { adapterDir, maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { fixtureModelConfig, readSafetensorsIndependently, testFloats } from './train-helpers.ts';

function fixtureAdapterFiles(name: 'tiny-llama' | 'tiny-qwen2'): AdapterFiles {
  return {
    adapterConfig: readFileSync(join(adapterDir(name), 'adapter_config.json'), 'utf8'),
    safetensors: new Uint8Array(readFileSync(join(adapterDir(name), 'adapter_model.safetensors'))),
  };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

let engine: TfjsLocalEngine;

beforeAll(async () => {
  ({ engine } = createNodeTfjs({ modelDir: modelDir('tiny-llama') }));
  await engine.load('tiny-llama');
  await engine.addAdapter('fixture', fixtureAdapterFiles('tiny-llama'));
});
afterAll(() => engine.unload());

describe('TfjsEngine.mergedModel', () => {
  it('returns a model folder whose logits, without any adapter, are the adapted reference logits', async () => {
    const ask = [{ role: 'user' as const, content: 'hello' }];
    const replies = async () => Promise.all([null, 'fixture'].map(async (adapterId) => (await engine.chat({ messages: ask, maxTokens: 6, temperature: 0, adapterId })).text));
    const repliesBefore = await replies();
    const before = tf.memory().numTensors;
    const progress: Array<{ done: number; total: number }> = [];
    const merged = await engine.mergedModel('fixture', { onProgress: (p) => progress.push(p) });
    expect(tf.memory().numTensors).toBe(before); // read back and merged outside tfjs: nothing left behind
    expect(Object.keys(merged.files).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(merged).toMatchObject({ tensors: 21, mergedModules: 14 });
    expect(progress).toHaveLength(21);
    expect(progress.at(-1)).toEqual({ done: 21, total: 21 });
    expect(progress.every((p, i) => p.done === i + 1)).toBe(true);

    const model = await loadModel(memorySource('merged-fixture', new Map(Object.entries(merged.files))));
    try {
      const ref = reference('tiny-llama');
      const ids = tf.tensor2d(ref.input_ids, undefined, 'int32');
      const logits = forward(model, ids, { linears: null });
      const values = (await logits.array()) as number[][][];
      tf.dispose([ids, logits]);
      expect(maxAbsDiff(values, ref.logits_adapted)).toBeLessThan(1e-3);
      expect(maxAbsDiff(values, ref.logits_base)).toBeGreaterThan(1e-2);
    } finally {
      model.dispose();
    }

    // The engine's own weights and adapter are unchanged: the same replies (greedy) as before the merge.
    expect(await replies()).toEqual(repliesBefore);
  });

  it('writes F16 / BF16 when asked, with config.json saying so', async () => {
    const merged = await engine.mergedModel('fixture', { dtype: 'BF16' });
    const read = readSafetensorsIndependently(merged.files['model.safetensors']);
    expect([...read.tensors.values()].every((t) => t.dtype === 'BF16')).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(merged.files['config.json'])).torch_dtype).toBe('bfloat16');
  });

  it('fails with typed errors: unknown adapter, bad dtype, stopped', async () => {
    expect((await rejection(engine.mergedModel('nope'))).code).toBe('not-found');
    const bad = await rejection(engine.mergedModel('fixture', { dtype: 'F8' as 'F32' }));
    expect(bad.code).toBe('bad-input');
    expect(bad.message).toMatch(/must be F32, F16, BF16, not "F8"/);
    const stop = new AbortController();
    stop.abort();
    expect((await rejection(engine.mergedModel('fixture', { signal: stop.signal }))).code).toBe('aborted');
  });

  it('runMerge refuses an adapter for another model, naming the first bad tensor', async () => {
    const llama = await loadModel(await nodeDirSource(modelDir('tiny-llama')));
    const qwenLora = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-qwen2')), fixtureModelConfig('tiny-qwen2'));
    try {
      const config = new Map([['config.json', new Uint8Array(readFileSync(join(modelDir('tiny-llama'), 'config.json')))]]);
      const e = await rejection(runMerge(llama, qwenLora, config));
      expect(e.code).toBe('adapter-mismatch');
      expect(e.message).toMatch(/This adapter does not fit the model: tensor base_model\.model\.model\.layers\.0\.\S+ has shape/);
    } finally {
      disposeLora(qwenLora);
      llama.dispose();
    }
  });
});

describe('mergedModel over the worker protocol', () => {
  it('crosses a MessageChannel (files transferred) with progress; tiny-qwen2: tied embeddings and biases', async () => {
    const ports: MessagePort[] = [];
    const remote = new TfjsWorkerEngine({
      backend: 'wasm',
      source: { kind: 'dir', path: modelDir('tiny-qwen2') },
      spawn: () => {
        const { port1, port2 } = new MessageChannel();
        ports.push(port1, port2);
        serveWorker<TfjsApi>(port2, createTfjsHost(nodeTfjsHostDeps()));
        return port1;
      },
    });
    try {
      await remote.load('tiny-qwen2');
      await remote.addAdapter('a', fixtureAdapterFiles('tiny-qwen2'));
      let last = { done: 0, total: 0 };
      const merged = await remote.mergedModel('a', { onProgress: (p) => (last = p) });
      expect(last).toEqual({ done: merged.tensors, total: merged.tensors });
      expect(merged.mergedModules).toBe(21); // 7 projections × 3 layers
      const read = readSafetensorsIndependently(merged.files['model.safetensors']);
      expect(read.tensors.has('lm_head.weight')).toBe(false); // tied: the embedding is the head
      expect(read.tensors.has('model.layers.0.self_attn.q_proj.bias')).toBe(true);
      const model = await loadModel(memorySource('merged-qwen', new Map(Object.entries(merged.files))));
      try {
        const ref = reference('tiny-qwen2');
        const ids = tf.tensor2d(ref.input_ids, undefined, 'int32');
        const logits = forward(model, ids, { linears: null });
        const values = (await logits.array()) as number[][][];
        tf.dispose([ids, logits]);
        expect(maxAbsDiff(values, ref.logits_adapted)).toBeLessThan(1e-3);
      } finally {
        model.dispose();
      }
    } finally {
      remote.dispose();
      for (const p of ports) p.close();
    }
  });
});

describe('SafetensorsBuilder', () => {
  const tensors = new Map<string, TensorToWrite>([
    ['w', { shape: [3, 5], data: testFloats(15, 1) }],
    ['b', { shape: [7], data: testFloats(7, 2) }],
    ['s', { shape: [], data: new Float32Array([1.5]) }],
  ]);
  const shapes = [...tensors].map(([n, t]) => [n, t.shape] as const);

  it('filled in any order, gives the bytes writeSafetensors writes', () => {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const b = new SafetensorsBuilder(shapes, { dtype });
      for (const n of ['s', 'w', 'b']) b.put(n, tensors.get(n)!.data);
      expect(b.finish()).toEqual(writeSafetensors(tensors, { dtype }));
    }
  });

  it('refuses unknown names, wrong sizes, a second write and an unfinished file', () => {
    const b = new SafetensorsBuilder(shapes);
    expect(() => b.put('x', new Float32Array(1))).toThrow(/"x" is not in this safetensors file's header/);
    expect(() => b.put('w', new Float32Array(14))).toThrow(/"w" has shape \[3, 5\] but 14 values/);
    b.put('b', tensors.get('b')!.data);
    expect(() => b.put('b', tensors.get('b')!.data)).toThrow(/"b" was written twice/);
    expect(() => b.finish()).toThrow(/"w" was never written/);
    expect(() => new SafetensorsBuilder([['a', [2, -1]]])).toThrow(AppError);
  });
});
