/**
 * The model validation pass (src/core/model/validate.ts): config bounds and config ↔ tensors, both refused
 * before any weight is read or allocated (checked by recording every read of the source and counting tfjs
 * tensors, not by timing), and the finite-values check that names the tensor as it is read.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { bytesSource } from '../../src/core/io/byte-source.ts';
import type { ModelSource } from '../../src/core/io/model-source.ts';
import { SafetensorsFile } from '../../src/core/io/safetensors.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { checkConfigBounds, MODEL_BOUNDS, validateModelTensors, type TensorDescriptor } from '../../src/core/model/validate.ts';
import { modelDir } from '../fixtures/reference.ts';
import { safetensorsBytes, type TestTensor } from '../fixtures/safetensors-bytes.ts';

beforeAll(async () => {
  await useNodeBackend('cpu');
});

type Files = Map<string, Uint8Array>;
const enc = new TextEncoder();

async function fixture(name: 'tiny-llama' | 'tiny-qwen2'): Promise<Files> {
  const files: Files = new Map();
  for (const f of await readdir(modelDir(name))) files.set(f, new Uint8Array(await readFile(join(modelDir(name), f))));
  return files;
}

async function tensorsOf(files: Files): Promise<Record<string, TestTensor>> {
  const st = await SafetensorsFile.open(bytesSource('model.safetensors', files.get('model.safetensors')!));
  const out: Record<string, TestTensor> = {};
  for (const n of st.names()) {
    const t = await st.read(n);
    out[n] = { dtype: 'F32', shape: t.shape, data: Array.from(t.values.data) };
  }
  return out;
}

function patchConfig(files: Files, patch: Record<string, unknown>): void {
  const config = JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Record<string, unknown>;
  files.set('config.json', enc.encode(JSON.stringify({ ...config, ...patch })));
}

interface Spy {
  source: ModelSource;
  opened: string[];
  reads: Array<{ path: string; offset: number; length: number }>;
}

/** A folder in memory that records which files are opened and which byte ranges are read. */
function spySource(id: string, files: Files): Spy {
  const spy: Spy = { opened: [], reads: [], source: null as unknown as ModelSource };
  spy.source = {
    id: `spy:${id}`,
    label: `the test folder ${id}`,
    open: async (path) => {
      const bytes = files.get(path);
      if (!bytes) return null;
      spy.opened.push(path);
      const inner = bytesSource(path, bytes);
      return {
        name: path,
        size: inner.size,
        read: (offset, length) => {
          spy.reads.push({ path, offset, length });
          return inner.read(offset, length);
        },
      };
    },
  };
  return spy;
}

/** Loads through the spy; the refusal, with proof that no tensor was left allocated. */
async function refuse(id: string, files: Files): Promise<{ error: AppError; spy: Spy }> {
  const spy = spySource(id, files);
  const before = tf.memory().numTensors;
  const error = await loadModel(spy.source).then(
    (m) => {
      m.dispose();
      return null;
    },
    (e: unknown) => e,
  );
  expect(tf.memory().numTensors).toBe(before);
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return { error, spy };
}

/** True when every read of the weights file stayed inside its 8-byte prefix and JSON header. */
function onlyHeaderRead(spy: Spy, files: Files): boolean {
  const bytes = files.get('model.safetensors')!;
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const reads = spy.reads.filter((r) => r.path === 'model.safetensors');
  return reads.length > 0 && reads.every((r) => r.offset + r.length <= headerEnd);
}

describe('config bounds: refused at once, before the weights file is even opened', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ num_hidden_layers: 1_000_000_000 }, /config\.json: num_hidden_layers is 1000000000; at most 512 is accepted/],
    [{ hidden_size: 2 ** 40, num_attention_heads: 2 ** 30, num_key_value_heads: 2 ** 30 }, /hidden_size is 1099511627776; at most 65536/],
    [{ vocab_size: 1e12 }, /vocab_size is 1000000000000; at most 2097152/],
    [{ intermediate_size: 1e9 }, /intermediate_size is 1000000000; at most 262144/],
    [{ max_position_embeddings: 2 ** 40 }, /max_position_embeddings is 1099511627776; at most 16777216/],
    [{ num_key_value_heads: 8 }, /num_attention_heads \(4\) is not a multiple of num_key_value_heads \(8\)/],
    [{ rms_norm_eps: 5 }, /rms_norm_eps is 5; expected a number between 0 and 1/],
  ];
  for (const [patch, message] of cases) {
    it(`${Object.keys(patch).join(', ')} = ${Object.values(patch).join(', ')}`, async () => {
      const files = await fixture('tiny-llama');
      patchConfig(files, patch);
      const { error, spy } = await refuse(`bounds-${Object.keys(patch)[0]}`, files);
      expect(error.code).toBe('model-config');
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
      expect(spy.opened).not.toContain('model.safetensors');
    });
  }

  it('JSON 1e309 (Infinity) for rope_theta is refused like any non-number', async () => {
    const files = await fixture('tiny-llama');
    const text = new TextDecoder().decode(files.get('config.json')).replace(/"rope_theta":\s*[0-9.e+]+/, '"rope_theta": 1e309');
    expect(text).toContain('1e309');
    files.set('config.json', enc.encode(text));
    const { error, spy } = await refuse('rope-inf', files);
    expect(error.message).toMatch(/rope_theta Infinity is not a positive number/);
    expect(spy.opened).not.toContain('model.safetensors');
  });

  it('checkConfigBounds takes a parsed config from any source; MODEL_BOUNDS is the one list', async () => {
    const config = parseModelConfig(JSON.parse(await readFile(join(modelDir('tiny-llama'), 'config.json'), 'utf8')));
    expect(() => checkConfigBounds(config)).not.toThrow();
    expect(() => checkConfigBounds({ ...config, numLayers: MODEL_BOUNDS.numLayers + 1 })).toThrow(/num_hidden_layers is 513/);
    expect(() => checkConfigBounds({ ...config, ropeScaling: { type: 'linear', factor: 1e6 } })).toThrow(/rope_scaling factor is 1000000; at most 1024/);
  });
});

describe('config and tensors must agree (checked from the headers, before a weight is read)', () => {
  it('fewer layers in config.json than in the file', async () => {
    const files = await fixture('tiny-llama');
    patchConfig(files, { num_hidden_layers: 1 });
    const { error, spy } = await refuse('fewer-layers', files);
    expect(error.code).toBe('model-config');
    expect(error.message).toBe(
      'config.json says num_hidden_layers is 1, but the checkpoint holds 2 layers (model.safetensors has model.layers.1.input_layernorm.weight). Use the config.json that came with these weights.',
    );
    expect(onlyHeaderRead(spy, files)).toBe(true);
  });

  it('tie_word_embeddings: true with an lm_head.weight present', async () => {
    const files = await fixture('tiny-llama');
    patchConfig(files, { tie_word_embeddings: true });
    const { error, spy } = await refuse('tied-with-head', files);
    expect(error.code).toBe('model-config');
    expect(error.message).toMatch(/^config\.json says tie_word_embeddings: true, but model\.safetensors also holds lm_head\.weight\. A tied model has no separate LM head/);
    expect(onlyHeaderRead(spy, files)).toBe(true);
  });

  it('a tensor the config does not account for (a bias on a model without attention_bias)', async () => {
    const files = await fixture('tiny-llama');
    const t = await tensorsOf(files);
    t['model.layers.0.self_attn.o_proj.bias'] = { dtype: 'F32', shape: [64], data: new Array(64).fill(0) };
    files.set('model.safetensors', safetensorsBytes(t));
    const { error, spy } = await refuse('extra-bias', files);
    expect(error.message).toMatch(/^model\.safetensors holds model\.layers\.0\.self_attn\.o_proj\.bias, which a llama model with this config\.json does not have/);
    expect(onlyHeaderRead(spy, files)).toBe(true);
  });

  it('a rotary inv_freq buffer (some old checkpoints carry one) is not a weight and loads', async () => {
    const files = await fixture('tiny-llama');
    const t = await tensorsOf(files);
    t['model.layers.0.self_attn.rotary_emb.inv_freq'] = { dtype: 'F32', shape: [8], data: new Array(8).fill(1) };
    files.set('model.safetensors', safetensorsBytes(t));
    const model = await loadModel(spySource('inv-freq', files).source);
    expect(model.config.numLayers).toBe(2);
    model.dispose();
  });

  it('takes plain (name, shape, dtype) descriptors and an expected list, for formats other than safetensors', async () => {
    const config = parseModelConfig(JSON.parse(await readFile(join(modelDir('tiny-llama'), 'config.json'), 'utf8')));
    const d = (name: string, shape: number[], dtype = 'F32'): TensorDescriptor => ({ name, shape, dtype, file: 'params_shard_0.bin' });
    const expected = [{ name: 'embed.q_weight', shape: [300, 8] }];
    expect(() => validateModelTensors(config, [d('embed.q_weight', [300, 8], 'uint32')], { expected, dtypes: ['uint32'] })).not.toThrow();
    expect(() => validateModelTensors(config, [d('embed.q_weight', [300, 9], 'uint32')], { expected, dtypes: ['uint32'] })).toThrow(
      /params_shard_0\.bin: tensor embed\.q_weight has shape \[300, 9\], but config\.json implies \[300, 8\]/,
    );
    expect(() => validateModelTensors(config, [d('embed.q_weight', [300, 8], 'uint32'), d('model.layers.5.x', [1], 'uint32')], { expected, dtypes: ['uint32'] })).toThrow(
      /num_hidden_layers is 2, but the checkpoint holds 6 layers/,
    );
    expect(() => validateModelTensors(config, [d('a', [1]), d('a', [1])], { expected: [] })).toThrow(/Tensor "a" is in both/);
  });
});

describe('non-finite weights are refused as they are read, naming the tensor', () => {
  it.each([
    ['NaN', NaN, 'model.layers.1.mlp.down_proj.weight', [3, 5]],
    ['Infinity', Infinity, 'model.norm.weight', [7]],
    ['-Infinity', -Infinity, 'lm_head.weight', [299, 63]],
  ] as const)('%s', async (label, value, name, at) => {
    const files = await fixture('tiny-llama');
    const t = await tensorsOf(files);
    const shape = t[name].shape;
    const flat = at.length === 1 ? at[0] : at[0] * shape[1] + at[1];
    (t[name].data as number[])[flat] = value;
    files.set('model.safetensors', safetensorsBytes(t));
    const { error } = await refuse(`non-finite-${label}`, files);
    expect(error.code).toBe('non-finite');
    expect(error.message).toBe(
      `model.safetensors: tensor ${name} holds ${label} at [${at.join(', ')}]. A model with NaN or infinite weights cannot compute anything; the file is damaged or the training that made it diverged.`,
    );
  });

  it('also in BF16 checkpoints (widened, then checked)', async () => {
    const files = await fixture('tiny-qwen2');
    const t = await tensorsOf(files);
    for (const v of Object.values(t)) v.dtype = 'BF16';
    (t['model.embed_tokens.weight'].data as number[])[5] = NaN;
    files.set('model.safetensors', safetensorsBytes(t));
    const { error } = await refuse('non-finite-bf16', files);
    expect(error.message).toMatch(/^model\.safetensors: tensor model\.embed_tokens\.weight holds NaN at \[0, 5\]/);
  });
});
