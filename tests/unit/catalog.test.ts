import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { describe, expect, it } from 'vitest';
import {
  CATALOG,
  allWebLlmIds,
  chooseVariant,
  findEntry,
  resolveWebLlmModel,
  webllmEntries,
  type WebLlmCatalogEntry,
} from '../../src/core/engine/catalog.ts';
import { describeAdapter, probeGpu, unavailableGpu, type AdapterLike, type GpuInfo } from '../../src/core/engine/gpu.ts';
import { AppError } from '../../src/core/errors.ts';

/** A fake adapter, shaped like Chromium's GPUAdapter. */
function adapter(features: string[], description = 'Fake GPU'): AdapterLike {
  const set = new Set(features);
  return {
    features: { has: (f) => set.has(f), forEach: (cb) => set.forEach((f) => cb(f)) },
    limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 },
    info: { vendor: 'fake', architecture: 'test', description, isFallbackAdapter: false },
  };
}

const withF16: GpuInfo = describeAdapter(adapter(['shader-f16', 'timestamp-query'], 'Big GPU'));
const withoutF16: GpuInfo = describeAdapter(adapter(['timestamp-query'], 'SwiftShader Device'));

function entry(id: string): WebLlmCatalogEntry {
  const e = findEntry(id);
  if (!e || e.kind !== 'webllm') throw new Error(`no web-llm entry ${id}`);
  return e;
}

function thrown(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('model catalog', () => {
  it('has the required small models, each with a Hugging Face repo for training', () => {
    const ids = CATALOG.map((e) => e.id);
    for (const id of ['smollm2-135m', 'smollm2-360m', 'qwen2.5-0.5b', 'qwen2.5-1.5b', 'qwen3-0.6b', 'llama-3.2-1b']) {
      expect(ids).toContain(id);
    }
    expect(entry('smollm2-135m').hfRepo).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(entry('qwen2.5-0.5b').hfRepo).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    expect(entry('qwen3-0.6b').hfRepo).toBe('Qwen/Qwen3-0.6B');
    expect(entry('llama-3.2-1b').hfRepo).toBe('meta-llama/Llama-3.2-1B-Instruct');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses web-llm ids, VRAM needs and context windows that exist in the installed web-llm', () => {
    const byId = new Map(prebuiltAppConfig.model_list.map((r) => [r.model_id, r]));
    for (const e of webllmEntries()) {
      expect(e.variants.length).toBeGreaterThan(0);
      for (const v of e.variants) {
        const r = byId.get(v.webllmId);
        expect(r, `${v.webllmId} is in prebuiltAppConfig`).toBeDefined();
        expect(v.vramMB).toBeCloseTo(r!.vram_required_MB!, 2);
        expect(r!.overrides?.context_window_size).toBe(e.contextWindow);
        expect(v.webllmId).toContain(v.quantization);
        // Everything web-llm says needs shader-f16 is marked so (it does not say so for every f16 build).
        if (r!.required_features?.includes('shader-f16')) expect(v.needsShaderF16).toBe(true);
        expect(v.needsShaderF16).toBe(v.quantization.includes('f16'));
      }
    }
  });

  it('keeps a tfjs-only entry kind without web-llm ids', () => {
    const toy = findEntry('toy-arith');
    expect(toy?.kind).toBe('tfjs-only');
    expect(allWebLlmIds()).not.toContain('toy-arith');
    const e = thrown(() => resolveWebLlmModel('toy-arith', withF16));
    expect(e.code).toBe('unsupported');
    expect(e.message).toContain('tfjs engine');
  });

  it('finds entries by our id or by any web-llm id', () => {
    expect(findEntry('Qwen2.5-0.5B-Instruct-q4f32_1-MLC')?.id).toBe('qwen2.5-0.5b');
    expect(findEntry('SmolLM2-360M-Instruct-q0f16-MLC')?.id).toBe('smollm2-360m');
    expect(findEntry('nope')).toBeUndefined();
  });
});

describe('choosing a variant for the adapter', () => {
  it('picks q4f16_1 when the adapter has shader-f16', () => {
    const c = chooseVariant(entry('qwen2.5-0.5b'), withF16);
    expect(c.variant.webllmId).toBe('Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
    expect(c.reason).toContain('supports shader-f16');
  });

  it('picks q4f32_1 without shader-f16 and says why', () => {
    for (const id of ['qwen2.5-0.5b', 'qwen2.5-1.5b', 'qwen3-0.6b', 'llama-3.2-1b', 'smollm2-360m']) {
      const c = chooseVariant(entry(id), withoutF16);
      expect(c.variant.quantization).toBe('q4f32_1');
      expect(c.variant.needsShaderF16).toBe(false);
      expect(c.reason).toMatch(/^Picked q4f32_1 because SwiftShader Device lacks the WebGPU feature shader-f16, which the q4f16_1 build needs/);
    }
  });

  it('falls back to the 32-bit unquantised build for a model without q4 builds (SmolLM2-135M)', () => {
    expect(chooseVariant(entry('smollm2-135m'), withF16).variant.quantization).toBe('q0f16');
    const c = chooseVariant(entry('smollm2-135m'), withoutF16);
    expect(c.variant.webllmId).toBe('SmolLM2-135M-Instruct-q0f32-MLC');
    expect(c.reason).toContain('q0f16 build needs');
    expect(c.reason).toContain('SmolLM2 135M Instruct has no 4-bit (q4) build, so this is its unquantised 32-bit one');
  });

  it('honours a preferred quantisation when the adapter can run it', () => {
    expect(chooseVariant(entry('qwen3-0.6b'), withF16, 'q0f32').variant.webllmId).toBe('Qwen3-0.6B-q0f32-MLC');
    const e = thrown(() => chooseVariant(entry('qwen3-0.6b'), withoutF16, 'q4f16_1'));
    expect(e.code).toBe('shader-f16-missing');
    expect(e.message).toContain('Pick Qwen3-0.6B-q4f32_1-MLC instead');
  });

  it('an exact f16 web-llm id on an adapter without shader-f16 errors and names the f32 alternative', () => {
    const e = thrown(() => resolveWebLlmModel('Llama-3.2-1B-Instruct-q4f16_1-MLC', withoutF16));
    expect(e.code).toBe('shader-f16-missing');
    expect(e.message).toContain('needs the WebGPU feature shader-f16, which SwiftShader Device lacks');
    expect(e.message).toContain('Pick Llama-3.2-1B-Instruct-q4f32_1-MLC instead');
    expect(resolveWebLlmModel('Llama-3.2-1B-Instruct-q4f16_1-MLC', withF16).variant.quantization).toBe('q4f16_1');
    expect(resolveWebLlmModel('Llama-3.2-1B-Instruct-q4f32_1-MLC', withoutF16).variant.quantization).toBe('q4f32_1');
  });

  it('errors clearly when WebGPU is missing', () => {
    const e = thrown(() => resolveWebLlmModel('qwen2.5-0.5b', unavailableGpu('navigator.gpu is missing')));
    expect(e.code).toBe('webgpu-unavailable');
    expect(e.message).toMatch(/^This browser has no WebGPU \(navigator\.gpu is missing\)/);
    expect(e.message).toContain('Use the tfjs engine on the wasm backend');
    expect(e.message).toContain('Chrome or Edge 113+');
  });

  it('errors on an unknown model with the list of known ones', () => {
    const e = thrown(() => resolveWebLlmModel('gpt-17', withF16));
    expect(e.code).toBe('not-found');
    expect(e.message).toContain('smollm2-135m');
  });
});

describe('probing the GPU', () => {
  it('reports a missing navigator.gpu, a missing adapter and a failing request as unavailable', async () => {
    expect(await probeGpu(undefined)).toMatchObject({ available: false, reason: expect.stringContaining('navigator.gpu is missing') });
    expect(await probeGpu({ requestAdapter: async () => null })).toMatchObject({ available: false, reason: expect.stringContaining('no WebGPU adapter') });
    expect(
      await probeGpu({
        requestAdapter: async () => {
          throw new Error('GPU process crashed');
        },
      }),
    ).toMatchObject({ available: false, reason: expect.stringContaining('GPU process crashed') });
  });

  it('describes an adapter as plain data', async () => {
    const info = await probeGpu({ requestAdapter: async () => adapter(['timestamp-query', 'shader-f16']) });
    expect(info).toEqual({
      available: true,
      reason: null,
      features: ['shader-f16', 'timestamp-query'],
      vendor: 'fake',
      architecture: 'test',
      description: 'Fake GPU',
      isFallbackAdapter: false,
      maxBufferSize: 2 ** 30,
      maxStorageBufferBindingSize: 2 ** 30,
    });
    expect(structuredClone(info)).toEqual(info);
  });
});
