/**
 * The MLC format's pieces against their definitions: q4 group quantization on a hand-worked group, the
 * parameter names of each architecture as mlc-llm's models declare them, shard packing as tvmjs does it,
 * the `f32-to-bf16` records mlc-llm's convert_weight writes for float32 (the catalog's q0f32 / q4f32_1
 * builds), and the manifest file name web-llm 0.2.86 reads.
 */
import * as tf from '@tensorflow/tfjs';
import { TENSOR_CACHE_MANIFEST_FILENAME } from '@mlc-ai/web-llm';
import { beforeAll, describe, expect, it } from 'vitest';
import { float32ToBfloat16Bits } from '../../src/core/io/safetensors-write.ts';
import { mlcParams, storedTensors } from '../../src/core/mlc/layout.ts';
import { loadMlcModel } from '../../src/core/mlc/load.ts';
import { loraToPlain } from '../../src/core/lora/tensor-data.ts';
import { mergeIntoMlc } from '../../src/core/mlc/merge.ts';
import { dequantizeQ4, quantizeQ4 } from '../../src/core/mlc/q4.ts';
import { openMlcModel } from '../../src/core/mlc/read.ts';
import { ShardWriter } from '../../src/core/mlc/shards.ts';
import { quantScheme, TENSOR_CACHE_FILE } from '../../src/core/mlc/types.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { disposeLora } from '../../src/core/lora/init.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { LLAMA3_TINY, QWEN3_TINY } from '../fixtures/tiny-models.ts';
import { hfSource, logitsOf, maxAbs, mlcFiles, mlcSource, readConfigJson, testRows } from './mlc-helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('q4 group quantization', () => {
  it('stores a hand-worked group: scale = max|w| / 7, q = round(w / scale + 7), low nibble first', () => {
    // One row of 32: w = (k − 7) · 0.5 for k = 0…14, then 0.25, −3.5, and zeros.
    const w = new Float32Array(32);
    for (let k = 0; k <= 14; k++) w[k] = (k - 7) * 0.5;
    w[15] = 0.25; // 0.25 / 0.5 + 7 = 7.5 → 8 (half to even)
    w[16] = -3.5;
    const { qWeight, qScale } = quantizeQ4(w, 1, 32, 'float32');
    expect(Array.from(qScale)).toEqual([0.5]);
    expect(qWeight.length).toBe(4);
    // Word 0 holds k = 0…7 (q = k), low bits first: 0x76543210.
    expect(qWeight[0]).toBe(0x76543210);
    // Word 1: k = 8…14 (q = 8…14), then q(0.25) = 8 in the top nibble.
    expect(qWeight[1]).toBe(0x8edcba98);
    // Word 2: q(−3.5) = 0, then zeros → q = 7.
    expect(qWeight[2]).toBe(0x77777770);
    expect(qWeight[3]).toBe(0x77777777);
    const back = dequantizeQ4(qWeight, qScale, 1, 32, 'float32');
    expect(Array.from(back.subarray(0, 15))).toEqual(Array.from(w.subarray(0, 15)));
    expect(back[15]).toBe(0.5);
  });

  it('pads a row that is not a multiple of 32 with zero nibbles and reads only the real columns', () => {
    const w = Float32Array.from({ length: 2 * 40 }, (_, i) => Math.sin(i) * 0.3);
    const { qWeight, qScale } = quantizeQ4(w, 2, 40, 'float16');
    expect(qWeight.length).toBe(2 * 8); // ceil(40 / 32) = 2 groups = 8 words per row
    expect(qScale.length).toBe(2 * 2);
    expect(qWeight[5] >>> 0).toBe(0); // row 0, word 5 holds columns 40–47: padding
    const back = dequantizeQ4(qWeight, qScale, 2, 40, 'float16');
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(qScale[Math.floor(i / 40) * 2 + Math.floor((i % 40) / 32)] / 2 + 1e-3);
  });

  it('an all-zero group stores scale 0 and dequantizes to zeros', () => {
    const { qWeight, qScale } = quantizeQ4(new Float32Array(32), 1, 32, 'float16');
    expect(qScale[0]).toBe(0);
    expect(Array.from(dequantizeQ4(qWeight, qScale, 1, 32, 'float16'))).toEqual(new Array(32).fill(0));
  });
});

describe('parameter layout per architecture (names from mlc-llm llama_model.py, qwen2_model.py, qwen3_model.py)', () => {
  const names = (raw: Record<string, unknown>, q: 'q0f16' | 'q4f16_1') =>
    mlcParams(parseModelConfig(raw))
      .flatMap((p) => storedTensors(p, quantScheme(q)))
      .filter((t) => !t.name.startsWith('model.layers.') || t.name.startsWith('model.layers.0.'))
      .map((t) => `${t.name} [${t.shape.join(',')}] ${t.dtype}`);

  it('llama: qkv_proj, gate_up_proj, separate lm_head', () => {
    expect(names(readConfigJson(modelDir('tiny-llama')), 'q4f16_1')).toEqual([
      'model.embed_tokens.q_weight [300,8] uint32',
      'model.embed_tokens.q_scale [300,2] float16',
      'model.layers.0.input_layernorm.weight [64] float16',
      'model.layers.0.self_attn.qkv_proj.q_weight [128,8] uint32', // (4 + 2·2) heads × 16
      'model.layers.0.self_attn.qkv_proj.q_scale [128,2] float16',
      'model.layers.0.self_attn.o_proj.q_weight [64,8] uint32',
      'model.layers.0.self_attn.o_proj.q_scale [64,2] float16',
      'model.layers.0.post_attention_layernorm.weight [64] float16',
      'model.layers.0.mlp.gate_up_proj.q_weight [320,8] uint32',
      'model.layers.0.mlp.gate_up_proj.q_scale [320,2] float16',
      'model.layers.0.mlp.down_proj.q_weight [64,20] uint32',
      'model.layers.0.mlp.down_proj.q_scale [64,5] float16',
      'model.norm.weight [64] float16',
      'lm_head.q_weight [300,8] uint32',
      'lm_head.q_scale [300,2] float16',
    ]);
  });

  it('qwen2: c_attn with its bias, tied embeddings (no lm_head)', () => {
    expect(names(readConfigJson(modelDir('tiny-qwen2')), 'q0f16')).toEqual([
      'model.embed_tokens.weight [320,96] float16',
      'model.layers.0.input_layernorm.weight [96] float16',
      'model.layers.0.self_attn.c_attn.weight [160,96] float16',
      'model.layers.0.self_attn.c_attn.bias [160] float16',
      'model.layers.0.self_attn.o_proj.weight [96,96] float16',
      'model.layers.0.post_attention_layernorm.weight [96] float16',
      'model.layers.0.mlp.gate_up_proj.weight [384,96] float16',
      'model.layers.0.mlp.down_proj.weight [96,192] float16',
      'model.norm.weight [96] float16',
    ]);
  });

  it('qwen3: c_attn without bias, q_norm and k_norm', () => {
    expect(names(QWEN3_TINY, 'q0f16')).toEqual([
      'model.embed_tokens.weight [300,48] float16',
      'model.layers.0.input_layernorm.weight [48] float16',
      'model.layers.0.self_attn.c_attn.weight [128,48] float16',
      'model.layers.0.self_attn.o_proj.weight [48,64] float16',
      'model.layers.0.self_attn.q_norm.weight [16] float16',
      'model.layers.0.self_attn.k_norm.weight [16] float16',
      'model.layers.0.post_attention_layernorm.weight [48] float16',
      'model.layers.0.mlp.gate_up_proj.weight [160,48] float16',
      'model.layers.0.mlp.down_proj.weight [48,80] float16',
      'model.norm.weight [48] float16',
    ]);
  });

  it('refuses what mlc-llm cannot build: a llama with attention biases', () => {
    expect(() => mlcParams(parseModelConfig(LLAMA3_TINY))).toThrow(expect.objectContaining({ code: 'unsupported' }));
  });
});

describe('shards and the manifest', () => {
  it('packs like tvmjs: shards up to the cap, a record of at least half the cap in a shard of its own', async () => {
    const written: Array<[string, number]> = [];
    const w = new ShardWriter((path, bytes) => void written.push([path, bytes.byteLength]), 100);
    const add = (name: string, n: number) => w.add({ name, shape: [n], dtype: 'uint32', format: 'raw' }, new Uint8Array(n));
    await add('a', 40);
    await add('b', 40); // 80 < 100: same shard
    await add('c', 30); // 110 ≥ 100: a new shard
    await add('big', 70); // 30 + 70 ≥ 100 and 70·2 ≥ 100: out of band, a shard of its own (c stays pending)
    await add('d', 10);
    const tc = await w.finish({});
    expect(written).toEqual([
      ['params_shard_0.bin', 80],
      ['params_shard_1.bin', 70],
      ['params_shard_2.bin', 40],
    ]);
    expect(tc.records.map((s) => s.records.map((r) => `${r.name}@${r.byteOffset}`))).toEqual([['a@0', 'b@40'], ['big@0'], ['c@0', 'd@30']]);
  });

  it('the index is the file web-llm 0.2.86 reads; a folder with the older name (ndarray-cache.json) loads too', async () => {
    expect(TENSOR_CACHE_FILE).toBe(TENSOR_CACHE_MANIFEST_FILENAME);
    const files = new Map(await mlcFiles('tiny-llama', 'q4f32_1'));
    files.set('ndarray-cache.json', files.get(TENSOR_CACHE_FILE)!);
    files.delete(TENSOR_CACHE_FILE);
    const m = await loadMlcModel(mlcSource('legacy-name', files));
    expect(m.config.architecture).toBe('llama');
    m.dispose();
  });
});

/** The q0f32 export with every float32 record re-encoded as mlc-llm writes it: `f32-to-bf16`. */
async function asBf16(): Promise<Map<string, Uint8Array>> {
  const files = new Map(await mlcFiles('tiny-qwen2', 'q0f32'));
  const index = JSON.parse(new TextDecoder().decode(files.get(TENSOR_CACHE_FILE))) as { records: Array<{ dataPath: string; nbytes: number; records: any[] }> };
  for (const shard of index.records) {
    const src = files.get(shard.dataPath)!;
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (const r of shard.records) {
      const f32 = new Float32Array(src.slice(r.byteOffset, r.byteOffset + r.nbytes).buffer);
      const b = new Uint16Array(f32.length);
      for (let i = 0; i < f32.length; i++) b[i] = float32ToBfloat16Bits(f32[i]);
      Object.assign(r, { format: 'f32-to-bf16', nbytes: b.byteLength, byteOffset: offset });
      parts.push(new Uint8Array(b.buffer));
      offset += b.byteLength;
    }
    const out = new Uint8Array(offset);
    let at = 0;
    for (const p of parts) (out.set(p, at), (at += p.byteLength));
    files.set(shard.dataPath, out);
    shard.nbytes = offset;
  }
  files.set(TENSOR_CACHE_FILE, new TextEncoder().encode(JSON.stringify(index)));
  return files;
}

describe('f32-to-bf16 records (what mlc-llm writes for float32 models)', () => {
  it('load: tiny-qwen2 (BF16 weights) gives the HF logits exactly', async () => {
    const rows = testRows('tiny-qwen2');
    const hf = await loadModel(await hfSource('tiny-qwen2'));
    const mlc = await loadMlcModel(mlcSource('qwen2-bf16', await asBf16()));
    expect(maxAbs(await logitsOf(mlc, rows), await logitsOf(hf, rows))).toBe(0);
    hf.dispose();
    mlc.dispose();
  });

  it('merge keeps the records f32-to-bf16', async () => {
    const base = await openMlcModel(mlcSource('qwen2-bf16-merge', await asBf16()));
    const lora = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-qwen2')), base.chat.config);
    const { files } = await mergeIntoMlc(base, { modules: await loraToPlain(lora), scaling: lora.scaling });
    disposeLora(lora);
    const merged = await openMlcModel(mlcSource('qwen2-bf16-merged', files));
    expect(new Set(merged.tensorCache.records.flatMap((s) => s.records.map((r) => r.format)))).toEqual(new Set(['f32-to-bf16']));
  });
});
