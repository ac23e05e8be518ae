import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { createEngine } from '../../src/core/engine/factory.ts';
import { OpenAICompatibleEngine } from '../../src/core/engine/openai/engine.ts';
import { describeSpec, parseEngineSpec, specModelId, type EngineSpec } from '../../src/core/engine/spec.ts';
import type { ChatEngine } from '../../src/core/engine/types.ts';
import { TfjsWorkerEngine } from '../../src/core/engine/tfjs/worker-engine.ts';
import { WebLlmEngine } from '../../src/core/engine/webllm/engine.ts';

function thrown(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('engine specs', () => {
  it('parses each kind and trims fields', () => {
    expect(parseEngineSpec({ kind: 'webllm', modelId: ' qwen2.5-0.5b ' })).toEqual({ kind: 'webllm', modelId: 'qwen2.5-0.5b' });
    expect(parseEngineSpec({ kind: 'openai', baseUrl: 'http://localhost:8000/v1', model: 'm', apiKey: '' })).toEqual({
      kind: 'openai',
      baseUrl: 'http://localhost:8000/v1',
      model: 'm',
      apiKey: '',
    });
    expect(parseEngineSpec({ kind: 'tfjs', modelId: 'toy-arith' })).toEqual({ kind: 'tfjs', modelId: 'toy-arith', backend: 'auto' });
  });

  it('rejects bad specs with messages that say what is missing', () => {
    const cases: [unknown, RegExp][] = [
      [null, /Pick an engine/],
      [{ kind: 'gpu-magic' }, /Unknown engine "gpu-magic"/],
      [{ kind: 'webllm' }, /need a model \(field "modelId"\)/],
      [{ kind: 'openai', baseUrl: 'ftp://x', model: 'm', apiKey: 'k' }, /must start with http/],
      [{ kind: 'openai', baseUrl: 'http://x/v1', model: '', apiKey: 'k' }, /a model name/],
      [{ kind: 'openai', baseUrl: 'http://x/v1', model: 'm' }, /an API key/],
      [{ kind: 'tfjs', modelId: 'toy-arith', backend: 'cuda' }, /auto, webgpu or wasm/],
    ];
    for (const [input, message] of cases) {
      const e = thrown(() => parseEngineSpec(input));
      expect(e.code).toBe('bad-input');
      expect(e.message).toMatch(message);
    }
  });

  it('names the model to load and describes a spec without its API key', () => {
    const spec: EngineSpec = { kind: 'openai', baseUrl: 'https://api.example.com/v1', model: 'critic-1', apiKey: 'sk-secret' };
    expect(specModelId(spec)).toBe('critic-1');
    expect(describeSpec(spec)).toBe('critic-1 at https://api.example.com/v1');
    expect(describeSpec(spec)).not.toContain('sk-secret');
    expect(specModelId({ kind: 'webllm', modelId: 'smollm2-360m' })).toBe('smollm2-360m');
  });
});

describe('createEngine', () => {
  it('builds an OpenAI-compatible engine, unloaded', () => {
    const e = createEngine({ kind: 'openai', baseUrl: 'http://localhost:8000/v1/', model: 'm', apiKey: 'k' });
    expect(e).toBeInstanceOf(OpenAICompatibleEngine);
    expect(e.kind).toBe('openai');
    expect(e.modelId).toBeNull();
    expect((e as OpenAICompatibleEngine).baseUrl).toBe('http://localhost:8000/v1');
  });

  it('builds a web-llm engine that starts its worker only when used', async () => {
    let spawned = 0;
    const e = createEngine(
      { kind: 'webllm', modelId: 'smollm2-360m' },
      {
        spawnWebLlmWorker: () => {
          spawned++;
          throw new AppError('unsupported', 'no workers in this test');
        },
      },
    );
    expect(e).toBeInstanceOf(WebLlmEngine);
    expect(spawned).toBe(0);
    await expect(e.load('smollm2-360m')).rejects.toMatchObject({ code: 'unsupported' });
    expect(spawned).toBe(1);
  });

  it('in Node, the default web-llm worker cannot start: a typed error, not a crash', async () => {
    const e = createEngine({ kind: 'webllm', modelId: 'smollm2-360m' });
    await expect(e.load('smollm2-360m')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('browser worker') });
  });

  it('tfjs: the tfjs worker engine by default (it needs a browser worker), or the registered constructor', async () => {
    const spec: EngineSpec = { kind: 'tfjs', modelId: 'toy-arith', backend: 'wasm' };
    const byDefault = createEngine(spec, { baseHref: 'http://localhost:4173/' });
    expect(byDefault).toBeInstanceOf(TfjsWorkerEngine);
    await expect(byDefault.load('toy-arith')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('browser worker') });
    // Whatever the registered constructor returns is handed back as is.
    const registered: ChatEngine = {
      kind: 'tfjs',
      capabilities: { adapters: false, trainLora: false, evolve: false },
      modelId: null,
      load: async () => undefined,
      chat: async () => ({ text: '', finishReason: 'stop', usage: { promptTokens: 0, completionTokens: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0, totalMs: 0 } }),
      unload: async () => undefined,
    };
    let got: unknown = null;
    const built = createEngine(spec, {
      createTfjsEngine: (s) => {
        got = s;
        return registered;
      },
    });
    expect(built).toBe(registered);
    expect(got).toEqual(spec);
  });

  it('checks specs again at build time (they come from storage)', () => {
    expect(() => createEngine({ kind: 'webllm', modelId: '' })).toThrow(/need a model/);
  });
});
