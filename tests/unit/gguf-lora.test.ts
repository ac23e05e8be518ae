import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGguf } from '../../src/core/io/gguf-write.ts';
import { ggufLoraAlpha, loraToGguf, permuteLlamaRows } from '../../src/core/lora/gguf.ts';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import type { LoraConfig } from '../../src/core/lora/types.ts';
import { PROJECTIONS, type ModelConfig } from '../../src/core/model/types.ts';
import { fixtureModelConfig, numpyPermute, randomizeLora } from './train-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-lora-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
async function parse(bytes: Uint8Array) {
  const path = join(dir, `f${fileNo++}.gguf`);
  writeFileSync(path, bytes);
  return gguf(path, { allowLocalFile: true });
}

/** Tensor values read straight from the file bytes at tensorDataOffset + offset. */
function tensorValues(bytes: Uint8Array, dataOffset: bigint, offset: bigint, count: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = Number(dataOffset + offset);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(at + 4 * i, true);
  return out;
}

const NAMES: Record<string, string> = {
  q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output',
  gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down',
};

function config(over: Partial<LoraConfig> = {}): LoraConfig {
  return { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: [...PROJECTIONS], layers: null, ...over };
}

async function checkAdapter(model: ModelConfig, c: LoraConfig, expectPermute: boolean) {
  const w = initLora(c, model, 3);
  randomizeLora(w, 11);
  const bytes = await loraToGguf(w, model, { baseModel: 'org/base-model' });
  const parsed = await parse(bytes);
  const md = parsed.metadata as unknown as Record<string, unknown>;
  expect(md.version).toBe(3);
  expect(md['general.architecture']).toBe(model.architecture);
  expect(md['general.type']).toBe('adapter');
  expect(md['adapter.type']).toBe('lora');
  expect(md['adapter.lora.alpha']).toBeCloseTo(ggufLoraAlpha(c), 5);
  expect(md['general.name']).toBe('org/base-model LoRA');
  expect(md['general.base_model.0.repo_url']).toBe('https://huggingface.co/org/base-model');
  expect(md['general.quantization_version']).toBe(2);
  expect(Number(md.tensor_count)).toBe(w.modules.size * 2);
  expect(parsed.littleEndian).toBe(true);
  expect(Number(parsed.tensorDataOffset) % 32).toBe(0);

  const byName = new Map(parsed.tensorInfos.map((t) => [t.name, t]));
  expect(byName.size).toBe(w.modules.size * 2);
  let permutedSeen = 0;
  for (const [module, { a, b }] of w.modules) {
    const [, layer, , proj] = module.split('.').slice(1);
    const base = `blk.${layer}.${NAMES[proj]}.weight`;
    const ta = byName.get(`${base}.lora_a`)!;
    const tb = byName.get(`${base}.lora_b`)!;
    expect(ta, `${base}.lora_a`).toBeDefined();
    expect(tb, `${base}.lora_b`).toBeDefined();
    expect(ta.dtype).toBe(0); // F32
    expect(tb.dtype).toBe(0);
    expect(Number(ta.offset) % 32).toBe(0);
    expect(Number(tb.offset) % 32).toBe(0);
    // GGUF dims are innermost first: numpy [r, in] → ne [in, r]
    expect(ta.shape.map(Number)).toEqual([a.shape[1], a.shape[0]]);
    expect(tb.shape.map(Number)).toEqual([b.shape[1], b.shape[0]]);
    const aData = Float32Array.from(await a.data());
    const bData = Float32Array.from(await b.data());
    expect(Array.from(tensorValues(bytes, parsed.tensorDataOffset, ta.offset, aData.length))).toEqual(Array.from(aData));
    let expectedB: Float32Array = bData;
    if (expectPermute && (proj === 'q_proj' || proj === 'k_proj')) {
      expectedB = numpyPermute(bData, b.shape[0], b.shape[1], proj === 'q_proj' ? model.numHeads : model.numKvHeads);
      expect(Array.from(expectedB)).not.toEqual(Array.from(bData));
      permutedSeen++;
    }
    expect(Array.from(tensorValues(bytes, parsed.tensorDataOffset, tb.offset, bData.length)), `${base}.lora_b`).toEqual(
      Array.from(expectedB),
    );
  }
  if (expectPermute) expect(permutedSeen).toBeGreaterThan(0);
  disposeLora(w);
}

describe('GGUF LoRA export', () => {
  it('permutes rows as convert_hf_to_gguf does (hand-worked example)', () => {
    // one head of size 4, two columns: rows [r0, r1, r2, r3] become [r0, r2, r1, r3]
    const w = Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
    expect(Array.from(permuteLlamaRows(w, 4, 2, 1))).toEqual([0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5]);
    expect(() => permuteLlamaRows(w, 4, 2, 3)).toThrow(/multiple of 2 × heads/);
  });

  it('writes a llama adapter llama.cpp reads: names, shapes, dtypes, values, q/k permutation on lora_b', async () => {
    await checkAdapter(fixtureModelConfig('tiny-llama'), config(), true);
  });

  it('writes qwen2 adapters without permutation, and only the chosen layers', async () => {
    const model = fixtureModelConfig('tiny-qwen2');
    await checkAdapter(model, config({ layers: [0, 2], targetModules: ['q_proj', 'k_proj', 'up_proj'] }), false);
  });

  it('writes alpha·√r for rsLoRA so that llama.cpp scales by alpha/√r', async () => {
    const c = config({ r: 4, alpha: 8, rslora: true, targetModules: ['q_proj', 'v_proj'] });
    expect(ggufLoraAlpha(c)).toBe(16);
    await checkAdapter(fixtureModelConfig('tiny-llama'), c, true);
  });

  it('writes every metadata type the reader can read back', async () => {
    const bytes = writeGguf(
      [
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['a.u32', { type: 'uint32', value: 7 }],
        ['a.i32', { type: 'int32', value: -7 }],
        ['a.f32', { type: 'float32', value: 0.5 }],
        ['a.u64', { type: 'uint64', value: 1n << 40n }],
        ['a.bool', { type: 'bool', value: true }],
        ['a.arr', { type: 'uint32[]', value: [1, 2, 3] }],
        ['a.strs', { type: 'string[]', value: ['x', 'ÿ'] }],
      ],
      [{ name: 't', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    );
    const parsed = await parse(bytes);
    const md = parsed.metadata as unknown as Record<string, unknown>;
    expect(md['a.u32']).toBe(7);
    expect(md['a.i32']).toBe(-7);
    expect(md['a.f32']).toBe(0.5);
    expect(md['a.u64']).toBe(1n << 40n);
    expect(md['a.bool']).toBe(true);
    expect(md['a.arr']).toEqual([1, 2, 3]);
    expect(md['a.strs']).toEqual(['x', 'ÿ']);
    expect(parsed.tensorInfos[0].shape.map(Number)).toEqual([3, 2]);
    expect(Array.from(tensorValues(bytes, parsed.tensorDataOffset, 0n, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => writeGguf([['k', { type: 'string', value: 'a' }], ['k', { type: 'string', value: 'b' }]], [])).toThrow(/given twice/);
  });
});
