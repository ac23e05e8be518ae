import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import { mergeLora, mergeLoraPlain, mergedModelFiles } from '../../src/core/lora/merge.ts';
import type { LoraPlainPair, PlainTensor } from '../../src/core/lora/tensor-data.ts';
import { modulePath, projectionDims } from '../../src/core/model/types.ts';
import { maxRelError, readSafetensorsIndependently, smallModelConfig, testFloats, randomizeLora } from './train-helpers.ts';

/** W + s·B·A in float64, element by element. */
function naiveMerge(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inF: number, r: number, s: number) {
  const res = new Float64Array(out * inF);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += b[o * r + k] * a[k * inF + i];
      res[o * inF + i] = w[o * inF + i] + s * acc;
    }
  return res;
}

function baseTensors(model: ReturnType<typeof smallModelConfig>): Map<string, PlainTensor> {
  const base = new Map<string, PlainTensor>();
  let seed = 100;
  base.set('model.embed_tokens.weight', { shape: [model.vocabSize, model.hiddenSize], data: testFloats(model.vocabSize * model.hiddenSize, seed++) });
  for (let l = 0; l < model.numLayers; l++) {
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const) {
      const { inFeatures, outFeatures } = projectionDims(model, p);
      base.set(`${modulePath(l, p)}.weight`, { shape: [outFeatures, inFeatures], data: testFloats(inFeatures * outFeatures, seed++) });
    }
  }
  return base;
}

describe('mergeLora', () => {
  const model = smallModelConfig();

  it('adds scaling · B·A to each adapted projection and leaves the rest untouched', async () => {
    const base = baseTensors(model);
    const w = initLora({ r: 3, alpha: 6, dropout: 0, rslora: false, targetModules: ['q_proj', 'down_proj'], layers: [1] }, model, 0);
    randomizeLora(w, 5);
    const merged = await mergeLora(base, w);
    expect([...merged.keys()]).toEqual([...base.keys()]);
    let adapted = 0;
    for (const [name, t] of base) {
      const module = name.replace(/\.weight$/, '');
      const pair = w.modules.get(module);
      if (!pair) {
        expect(merged.get(name)).toBe(t); // same object, unchanged
        continue;
      }
      adapted++;
      const [out, inF] = t.shape;
      const expected = naiveMerge(t.data, Float32Array.from(await pair.a.data()), Float32Array.from(await pair.b.data()), out, inF, 3, 2);
      expect(maxRelError(merged.get(name)!.data, expected)).toBeLessThan(1e-6);
      expect(maxRelError(merged.get(name)!.data, t.data)).toBeGreaterThan(1e-3); // really changed
      expect(t.data).not.toBe(merged.get(name)!.data);
    }
    expect(adapted).toBe(2);
    disposeLora(w);
  });

  it('names the first tensor that does not fit', () => {
    const base = baseTensors(model);
    const pair: LoraPlainPair = {
      a: { shape: [2, 32], data: new Float32Array(64) },
      b: { shape: [33, 2], data: new Float32Array(66) },
    };
    const bad = () => mergeLoraPlain(base, new Map([['model.layers.0.self_attn.q_proj', pair]]), 1);
    expect(bad).toThrow(AppError);
    expect(bad).toThrow(/model\.layers\.0\.self_attn\.q_proj\.weight" \[32, 32\]/);
    const missing = () => mergeLoraPlain(base, new Map([['model.layers.9.self_attn.q_proj', pair]]), 1);
    expect(missing).toThrow(/no tensor "model\.layers\.9\.self_attn\.q_proj\.weight"/);
  });

  it('writes a full model folder: model.safetensors plus copied config and tokenizer files', () => {
    const base = baseTensors(model);
    const merged = mergeLoraPlain(base, new Map(), 1);
    const config = new TextEncoder().encode(JSON.stringify({ model_type: 'llama', torch_dtype: 'bfloat16' }));
    const tok = new TextEncoder().encode('{"model":{}}');
    const files = mergedModelFiles(merged, {
      extraFiles: new Map([
        ['config.json', config],
        ['tokenizer.json', tok],
        ['model.safetensors', new Uint8Array(3)],
      ]),
      dtype: 'BF16',
    });
    expect([...files.keys()].sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    expect(files.get('tokenizer.json')).toBe(tok);
    expect(JSON.parse(new TextDecoder().decode(files.get('config.json')!)).torch_dtype).toBe('bfloat16');
    const read = readSafetensorsIndependently(files.get('model.safetensors')!);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect([...read.tensors.keys()]).toEqual([...base.keys()]);
    const q = read.tensors.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(q.dtype).toBe('BF16');
    expect(maxRelError(q.values, base.get('model.layers.0.self_attn.q_proj.weight')!.data)).toBeLessThan(2 ** -8);
    const f32 = mergedModelFiles(merged, { extraFiles: new Map([['config.json', config]]) });
    expect(JSON.parse(new TextDecoder().decode(f32.get('config.json')!)).torch_dtype).toBe('float32');
    expect(() => mergedModelFiles(merged, { extraFiles: new Map([['config.json', new Uint8Array([1, 2])]]) })).toThrow(AppError);
  });
});
