/** Loading model folders: Node directories, picked File lists, sharded checkpoints, sharing, and every refusal. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { bytesSource } from '../../src/core/io/byte-source.ts';
import { filesSource } from '../../src/core/io/files-source.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { SafetensorsFile } from '../../src/core/io/safetensors.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel, loadedHolders, type LanguageModel } from '../../src/core/model/load.ts';
import { hfTensorSpecs, parameterCount } from '../../src/core/model/weights.ts';
import { maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { rawSafetensors, safetensorsBytes, type TestTensor } from '../fixtures/safetensors-bytes.ts';
import { memorySource, writeFolder } from '../fixtures/tiny-models.ts';

let tmp: string;
beforeAll(async () => {
  await useNodeBackend('wasm');
  tmp = await mkdtemp(join(tmpdir(), 'studio-loader-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function fixtureFiles(name: 'tiny-llama' | 'tiny-qwen2'): Promise<Map<string, Uint8Array>> {
  const dir = modelDir(name);
  const files = new Map<string, Uint8Array>();
  for (const f of await readdir(dir)) files.set(f, new Uint8Array(await readFile(join(dir, f))));
  return files;
}

/** The fixture's tensors as test tensors (F32 values), for rewriting checkpoints. */
async function fixtureTensors(name: 'tiny-llama' | 'tiny-qwen2'): Promise<Record<string, TestTensor>> {
  const files = await fixtureFiles(name);
  const st = await SafetensorsFile.open(bytesSource('model.safetensors', files.get('model.safetensors')!));
  const out: Record<string, TestTensor> = {};
  for (const n of st.names()) {
    const t = await st.read(n);
    out[n] = { dtype: 'F32', shape: t.shape, data: t.values.data };
  }
  return out;
}

async function baseLogits(model: LanguageModel): Promise<number[][][]> {
  const ids = tf.tensor2d(reference('tiny-llama').input_ids, undefined, 'int32') as tf.Tensor2D;
  const out = forward(model, ids);
  const v = (await out.array()) as number[][][];
  tf.dispose([ids, out]);
  return v;
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof AppError)) throw new Error(`expected an AppError, got ${String(e)}`);
  return e;
}

describe('sources', () => {
  it('a sharded checkpoint (index.json + shards) loads the same numbers', async () => {
    const tensors = await fixtureTensors('tiny-llama');
    const names = Object.keys(tensors);
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const files = await fixtureFiles('tiny-llama');
    files.delete('model.safetensors');
    const weightMap: Record<string, string> = {};
    shards.forEach((list, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      files.set(file, safetensorsBytes(Object.fromEntries(list.map((n) => [n, tensors[n]]))));
      for (const n of list) weightMap[n] = file;
    });
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })));
    const dir = join(tmp, 'sharded');
    await writeFolder(dir, files);
    const model = await loadModel(await nodeDirSource(dir));
    expect(maxAbsDiff(await baseLogits(model), reference('tiny-llama').logits_base)).toBeLessThan(1e-3);
    model.dispose();
  });

  it('a picked folder (File objects with webkitRelativePath) loads the same numbers', async () => {
    const files = await fixtureFiles('tiny-llama');
    const picked = [...files].map(([name, bytes]) => {
      const f = new File([bytes as Uint8Array<ArrayBuffer>], name, { lastModified: 1000 });
      Object.defineProperty(f, 'webkitRelativePath', { value: `my-model/${name}` });
      return f;
    });
    const source = filesSource(picked);
    expect(source.label).toBe('the folder my-model');
    const model = await loadModel(source);
    expect(maxAbsDiff(await baseLogits(model), reference('tiny-llama').logits_base)).toBeLessThan(1e-3);
    model.dispose();
    expect(() => filesSource([])).toThrow(/No files were picked/);
  });
});

describe('sharing and memory', () => {
  it('holds the weights once: loading again shares them; the last dispose frees them', async () => {
    const before = tf.memory();
    const source = await nodeDirSource(modelDir('tiny-qwen2'));
    const a = await loadModel(source);
    const loaded = tf.memory();
    expect(loaded.numTensors - before.numTensors).toBe(hfTensorSpecs(a.config).length);
    expect(loaded.numBytes - before.numBytes).toBe(parameterCount(a.weights) * 4);
    const b = await loadModel(await nodeDirSource(modelDir('tiny-qwen2')));
    expect(b).toBe(a);
    expect(loadedHolders(source.id)).toBe(2);
    expect(tf.memory().numTensors).toBe(loaded.numTensors);
    // a and b are the same object; each dispose releases one holder.
    a.dispose();
    expect(tf.memory().numTensors).toBe(loaded.numTensors);
    b.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(loadedHolders(source.id)).toBe(0);
  });

  it('counts holders: one dispose per load keeps the model alive for the others', async () => {
    const source = await nodeDirSource(modelDir('tiny-qwen2'));
    const a = await loadModel(source);
    const b = await loadModel(source);
    b.dispose();
    expect(loadedHolders(source.id)).toBe(1);
    expect(maxAbsDiff(await baseLogits(a), await baseLogits(a))).toBe(0); // still usable
    a.dispose();
    expect(loadedHolders(source.id)).toBe(0);
  });

  it('reports progress per tensor and can be aborted without leaking tensors', async () => {
    const phases: string[] = [];
    let last = 0;
    const m = await loadModel(await nodeDirSource(modelDir('tiny-llama')), {
      onProgress: (p) => {
        phases.push(p.phase);
        if (p.phase === 'weights') last = p.fraction ?? 0;
      },
    });
    expect(phases).toContain('weights');
    expect(last).toBe(1);
    m.dispose();
    const before = tf.memory().numTensors;
    const ctl = new AbortController();
    const e = await refusal(
      loadModel(await nodeDirSource(modelDir('tiny-llama')), {
        signal: ctl.signal,
        onProgress: (p) => p.phase === 'weights' && (p.fraction ?? 0) > 0.3 && ctl.abort(),
      }),
    );
    expect(e.code).toBe('aborted');
    expect(tf.memory().numTensors).toBe(before);
    const again = await loadModel(await nodeDirSource(modelDir('tiny-llama'))); // not left half-registered
    again.dispose();
  });
});

describe('refusals', () => {
  async function variant(edit: (files: Map<string, Uint8Array>) => void | Promise<void>, id: string): Promise<AppError> {
    const files = await fixtureFiles('tiny-llama');
    await edit(files);
    const before = tf.memory().numTensors;
    const e = await refusal(loadModel(memorySource(id, files)));
    expect(tf.memory().numTensors).toBe(before); // nothing half-loaded is left behind
    return e;
  }
  const json = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
  const config = async (patch: Record<string, unknown>): Promise<Uint8Array> =>
    json({ ...JSON.parse(await readFile(join(modelDir('tiny-llama'), 'config.json'), 'utf8')), ...patch });

  it('a folder without config.json, without weights, or missing a listed shard', async () => {
    let e = await variant((f) => void f.delete('config.json'), 'no-config');
    expect(e.code).toBe('not-found');
    expect(e.message).toMatch(/has no config.json/);
    e = await variant((f) => void f.delete('model.safetensors'), 'no-weights');
    expect(e.message).toMatch(/has no model.safetensors \(nor model.safetensors.index.json\).*pytorch_model.bin/);
    e = await variant((f) => void f.set('model.safetensors.index.json', json({ weight_map: { 'model.norm.weight': 'model-00002-of-00002.safetensors' } })), 'no-shard');
    expect(e.message).toMatch(/has no model-00002-of-00002.safetensors, which model.safetensors.index.json lists/);
    e = await variant((f) => void f.set('model.safetensors.index.json', json({ weight_map: { x: '../../etc/passwd' } })), 'evil-index');
    expect(e.message).toMatch(/is not a safetensors file name/);
    await expect(nodeDirSource(join(tmp, 'does-not-exist'))).rejects.toThrow(/is not a folder/);
  });

  it('weights that do not fit the config name the tensor', async () => {
    let e = await variant(async (f) => void f.set('config.json', await config({ intermediate_size: 128 })), 'wrong-shape');
    expect(e.code).toBe('model-config');
    expect(e.message).toMatch(/tensor model.layers.0.mlp.gate_proj.weight has shape \[160, 64\], but config.json implies \[128, 64\]/);
    e = await variant(async (f) => void f.set('config.json', await config({ num_hidden_layers: 3 })), 'too-few-layers');
    expect(e.message).toMatch(/no tensor model.layers.2.input_layernorm.weight, which config.json \(llama, 3 layers\) requires/);
    e = await variant(async (f) => {
      const t = await fixtureTensors('tiny-llama');
      delete t['lm_head.weight'];
      f.set('model.safetensors', safetensorsBytes(t));
    }, 'untied-no-head');
    expect(e.message).toMatch(/no tensor lm_head.weight/);
  });

  it('unsupported architectures and damaged files are typed errors', async () => {
    let e = await variant(async (f) => void f.set('config.json', await config({ model_type: 'phi3' })), 'phi');
    expect(e.code).toBe('unsupported');
    expect(e.message).toMatch(/^unsupported: model_type "phi3"/);
    e = await variant((f) => {
      const good = f.get('model.safetensors')!;
      f.set('model.safetensors', good.slice(0, good.byteLength - 100));
    }, 'truncated');
    expect(e.code).toBe('safetensors');
    expect(e.message).toMatch(/^model.safetensors: tensor "[^"]+": data_offsets .* run past the end of the file/);
    e = await variant((f) => void f.set('config.json', new TextEncoder().encode('{"model_type": "llama",')), 'bad-json');
    expect(e.code).toBe('bad-input');
    expect(e.message).toMatch(/config.json in the test folder bad-json is not valid JSON/);
  });

  it('quantized (integer) weights are refused by name', async () => {
    const t = await fixtureTensors('tiny-llama');
    const files = await fixtureFiles('tiny-llama');
    const names = Object.keys(t);
    // Rewrite one tensor as I8 of the same shape.
    const entries: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const n of names) {
      const isInt = n === 'model.layers.0.mlp.up_proj.weight';
      const count = t[n].shape.reduce((a, b) => a * b, 1);
      const bytes = isInt ? new Uint8Array(count) : new Uint8Array(Float32Array.from(t[n].data).buffer);
      entries[n] = { dtype: isInt ? 'I8' : 'F32', shape: t[n].shape, data_offsets: [at, at + bytes.byteLength] };
      chunks.push(bytes);
      at += bytes.byteLength;
    }
    const data = new Uint8Array(at);
    let p = 0;
    for (const c of chunks) {
      data.set(c, p);
      p += c.byteLength;
    }
    files.set('model.safetensors', rawSafetensors(JSON.stringify(entries), data));
    const e = await refusal(loadModel(memorySource('int8-one', files)));
    expect(e.code).toBe('unsupported');
    expect(e.message).toMatch(/tensor model.layers.0.mlp.up_proj.weight is stored as I8/);
  });
});
