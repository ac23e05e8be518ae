/**
 * Malformed MLC folders fail with a typed AppError naming the problem, and a failed load leaves no tensor
 * behind: truncated or missing shards, wrong nbytes, unknown dtypes and formats, missing or extra records,
 * records that overlap or leave their shard, unsafe shard names, bad JSON, shapes that disagree with the
 * config, unsupported quantizations and architectures.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { loadMlcModel } from '../../src/core/mlc/load.ts';
import { mlcFiles, mlcSource } from './mlc-helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Json = Record<string, any>;
const text = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

async function base(): Promise<Map<string, Uint8Array>> {
  return new Map(await mlcFiles('tiny-qwen2', 'q4f16_1'));
}

function json(files: Map<string, Uint8Array>, name: string): Json {
  return JSON.parse(new TextDecoder().decode(files.get(name))) as Json;
}

/** A copy of the q4f16_1 tiny-qwen2 folder with one change. */
async function broken(change: (files: Map<string, Uint8Array>, index: Json, chat: Json) => void): Promise<Map<string, Uint8Array>> {
  const files = await base();
  const index = json(files, 'tensor-cache.json');
  const chat = json(files, 'mlc-chat-config.json');
  change(files, index, chat);
  if (!files.has('__keep_index__')) files.set('tensor-cache.json', text(index));
  files.delete('__keep_index__');
  if (!files.has('__keep_chat__')) files.set('mlc-chat-config.json', text(chat));
  files.delete('__keep_chat__');
  return files;
}

async function failure(files: Map<string, Uint8Array>): Promise<AppError> {
  const before = tf.memory().numTensors;
  try {
    (await loadMlcModel(mlcSource(`broken-${Math.random()}`, files))).dispose();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect(tf.memory().numTensors, 'a failed load leaves no tensor behind').toBe(before);
    return e as AppError;
  }
  throw new Error('the broken folder loaded');
}

const rec = (index: Json, name: string): Json => index.records.flatMap((s: Json) => s.records).find((r: Json) => r.name === name);

describe('malformed MLC folders', () => {
  it('the untouched folder loads (the cases below each break one thing)', async () => {
    const m = await loadMlcModel(mlcSource('intact', await base()));
    expect(m.config.architecture).toBe('qwen2');
    m.dispose();
  });

  const cases: Array<[string, (files: Map<string, Uint8Array>, index: Json, chat: Json) => void, string, RegExp]> = [
    ['a truncated shard', (f) => f.set('params_shard_0.bin', f.get('params_shard_0.bin')!.slice(0, 1000)), 'mlc', /params_shard_0\.bin has 1000 bytes.*truncated/],
    ['a shard longer than the index says', (f) => f.set('params_shard_0.bin', new Uint8Array(f.get('params_shard_0.bin')!.byteLength + 4)), 'mlc', /params_shard_0\.bin has \d+ bytes, but tensor-cache\.json says/],
    ['a missing shard', (f) => f.delete('params_shard_0.bin'), 'mlc', /params_shard_0\.bin, which tensor-cache\.json lists, is missing/],
    ['wrong nbytes', (_f, i) => (rec(i, 'model.norm.weight').nbytes += 2), 'mlc', /"model\.norm\.weight" has nbytes \d+, but shape \[96\] of float16 takes 192/],
    ['an unknown dtype', (_f, i) => (rec(i, 'model.norm.weight').dtype = 'float8_e4m3fn'), 'mlc', /dtype "float8_e4m3fn"/],
    ['an unknown record format', (_f, i) => (rec(i, 'model.norm.weight').format = 'zstd'), 'mlc', /format "zstd"/],
    [
      'a missing record',
      (_f, i) => (i.records[0].records = i.records[0].records.filter((r: Json) => r.name !== 'model.layers.1.mlp.down_proj.q_scale')),
      'mlc',
      /no record "model\.layers\.1\.mlp\.down_proj\.q_scale"/,
    ],
    ['an extra record', (_f, i) => i.records[0].records.push({ ...rec(i, 'model.norm.weight'), name: 'lm_head.q_scale' }), 'mlc', /overlap/],
    ['a record past the end of its shard', (_f, i) => (rec(i, 'model.norm.weight').byteOffset = i.records[0].nbytes - 10), 'mlc', /past the end of params_shard_0\.bin/],
    ['a shard name with a path', (_f, i) => (i.records[0].dataPath = '../params_shard_0.bin'), 'mlc', /dataPath "\.\.\/params_shard_0\.bin"/],
    ['a duplicate record', (_f, i) => i.records[0].records.push({ ...rec(i, 'model.norm.weight') }), 'mlc', /listed twice/],
    ['tensor-cache.json that is not JSON', (f) => (f.set('tensor-cache.json', new TextEncoder().encode('{"records": [')), f.set('__keep_index__', new Uint8Array())), 'bad-input', /tensor-cache\.json .* is not valid JSON/],
    ['mlc-chat-config.json that is not JSON', (f) => (f.set('mlc-chat-config.json', new TextEncoder().encode('nope')), f.set('__keep_chat__', new Uint8Array())), 'bad-input', /mlc-chat-config\.json .* is not valid JSON/],
    ['a missing mlc-chat-config.json', (f) => (f.delete('mlc-chat-config.json'), f.set('__keep_chat__', new Uint8Array())), 'not-found', /has no mlc-chat-config\.json/],
    ['no index at all', (f) => (f.delete('tensor-cache.json'), f.set('__keep_index__', new Uint8Array())), 'not-found', /has no tensor-cache\.json \(nor ndarray-cache\.json\)/],
    ['records without a list', (_f, i) => (i.records = 'none'), 'mlc', /"records" is not a list/],
    ['a config with fewer heads than the weights', (_f, _i, c) => (c.model_config.num_attention_heads = 4), 'model-config', /c_attn\.q_weight" is \[160, 12\] uint32, but .* implies \[128, 12\]/],
    ['a config that is not self-consistent', (_f, _i, c) => (c.model_config.num_attention_heads = 3), 'model-config', /not a multiple of num_key_value_heads.*damaged or incomplete/],
    ['a config with another hidden size', (_f, _i, c) => (c.model_config.hidden_size = 64), 'model-config', /"model\.embed_tokens\.q_weight" is \[320, 12\] uint32, but mlc-chat-config\.json .* implies \[320, 8\] uint32/],
    ['a config saying q0f16 for q4 weights', (_f, _i, c) => (c.quantization = 'q0f16'), 'mlc', /no record "model\.embed_tokens\.weight"/],
    ['an unsupported quantization', (_f, _i, c) => (c.quantization = 'q3f16_0'), 'unsupported', /quantization "q3f16_0"/],
    ['an unsupported architecture', (_f, _i, c) => (c.model_type = 'gemma2'), 'unsupported', /model_type "gemma2"/],
    ['a broken model_config', (_f, _i, c) => (c.model_config.num_hidden_layers = -1), 'model-config', /mlc-chat-config\.json of .* \(model_config\): num_hidden_layers.*The model's mlc-chat-config\.json is damaged/],
    ['sliding-window attention', (_f, _i, c) => (c.sliding_window_size = 1024), 'unsupported', /sliding_window_size 1024/],
  ];
  for (const [what, change, code, message] of cases) {
    it(`${what} → ${code}`, async () => {
      const e = await failure(await broken(change));
      expect(e.code, e.message).toBe(code);
      expect(e.message).toMatch(message);
    });
  }

  it('a q4 record stored with another dtype is a mismatch with the config', async () => {
    const e = await failure(
      await broken((_f, i) => {
        const r = rec(i, 'model.embed_tokens.q_weight');
        r.dtype = 'float32';
      }),
    );
    expect(e.code).toBe('model-config');
    expect(e.message).toMatch(/"model\.embed_tokens\.q_weight" is \[320, 12\] float32, but .* implies \[320, 12\] uint32/);
  });
});
