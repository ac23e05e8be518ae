/**
 * The page side of the tfjs engine (TfjsWorkerEngine, TfjsWorkerTrainer) over the real worker protocol: a
 * MessageChannel whose other end serves the real host (as workers/tfjs.worker.ts does), so every message is
 * structured-cloned. Errors cross as {code, message} and come back typed; progress, tokens and adapter files
 * cross; cancelling a call stops the work in the host. Plus where createEngine's tfjs engine finds models.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeThreadChoice } from '../../src/core/backend/node-wasm.ts';
import { AppError } from '../../src/core/errors.ts';
import { serveWorker } from '../../src/core/engine/protocol-server.ts';
import type { TfjsApi, TrainProgressMessage } from '../../src/core/engine/tfjs/api.ts';
import { createTfjsHost } from '../../src/core/engine/tfjs/host.ts';
import { nodeTfjsHostDeps } from '../../src/core/engine/tfjs/node-local.ts';
import { resolveTfjsSource } from '../../src/core/engine/tfjs/source-resolve.ts';
import { trainConfig } from '../../src/core/engine/tfjs/train-config.ts';
import { TfjsWorkerEngine, TfjsWorkerTrainer } from '../../src/core/engine/tfjs/worker-engine.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';

const ports: MessagePort[] = [];
let engine: TfjsWorkerEngine;
const events: TrainProgressMessage[] = [];
let trainer: TfjsWorkerTrainer;
const saved = new Map<string, Uint8Array>();

beforeAll(async () => {
  engine = new TfjsWorkerEngine({
    backend: 'wasm',
    source: (id) => ({ kind: 'dir', path: modelDir(id === 'qwen' ? 'tiny-qwen2' : 'tiny-llama') }),
    spawn: () => {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1, port2);
      serveWorker<TfjsApi>(port2, createTfjsHost(nodeTfjsHostDeps()));
      return port1;
    },
  });
  trainer = new TfjsWorkerTrainer(engine, { onEvent: (m) => events.push(m), onAdapter: (f, info) => void saved.set(info.adapterId, f.safetensors), gguf: true });
  const phases: string[] = [];
  await engine.load('llama', { onProgress: (p) => phases.push(p.phase) });
  expect(phases).toContain('backend');
  expect(phases).toContain('weights');
});
afterAll(() => {
  engine.dispose();
  for (const p of ports) p.close();
});

const ASK = [{ role: 'user' as const, content: 'hi there' }];

describe('TfjsWorkerEngine over the protocol', () => {
  it('loads, reports the backend, streams tokens, and rebuilds typed errors', async () => {
    expect(engine.modelId).toBe('llama');
    expect(engine.backend).toMatchObject({ backend: 'wasm', threads: nodeThreadChoice(null).threads /* every core */ });
    let streamed = '';
    const r = await engine.chat({ messages: ASK, maxTokens: 6, onToken: (d) => (streamed += d) });
    expect(streamed).toBe(r.text);
    await expect(
      engine.addAdapter('q', {
        adapterConfig: readFileSync(join(adapterDir('tiny-qwen2'), 'adapter_config.json'), 'utf8'),
        safetensors: new Uint8Array(readFileSync(join(adapterDir('tiny-qwen2'), 'adapter_model.safetensors'))),
      }),
    ).rejects.toSatisfy((e: unknown) => e instanceof AppError && e.code === 'adapter-mismatch' && /lora_[AB]\.weight/.test(e.message));
    await expect(engine.exportAdapter('none')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('trains in the host with progress, pause and checkpoints; files come back; the adapter generates at once', async () => {
    const rows = Array.from({ length: 4 }, (_, i) => ({ prompt: [{ role: 'user' as const, content: `p${i}` }], completion: [{ role: 'assistant' as const, content: `c${i} done` }] }));
    let pausedOnce = false;
    const out = await trainer.train({
      method: 'sft',
      rows,
      fromAdapterId: null,
      label: 'w',
      adapterId: 'w1',
      config: trainConfig({ steps: 3, batchSize: 2, lr: 1e-2, checkpointEvery: 3 }),
      onProgress: (p) => {
        if (p.step === 1 && !pausedOnce) {
          pausedOnce = true;
          void trainer.pause().then(() => setTimeout(() => void trainer.resume(), 30));
        }
      },
    });
    expect(out).toMatchObject({ adapterId: 'w1', metrics: { steps: 3, examples: 4 } });
    expect(events.some((e) => e.kind === 'status' && e.status === 'paused')).toBe(true);
    const ck = events.find((e) => e.kind === 'checkpoint');
    expect(ck?.kind === 'checkpoint' && Object.keys(ck.files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
    expect(saved.get('w1')).toBeInstanceOf(Uint8Array);
    const exported = await engine.exportAdapter('w1', { gguf: true });
    expect(Buffer.from(exported.safetensors).equals(Buffer.from(saved.get('w1')!))).toBe(true);
    expect(exported.gguf?.byteLength).toBeGreaterThan(0);
    expect((await engine.chat({ messages: ASK, maxTokens: 4, adapterId: 'w1' })).usage.completionTokens).toBeGreaterThan(0);
  });

  it('a cancelled training call stops in the host; the worker serves the next call', async () => {
    const stop = new AbortController();
    const before = events.length;
    const run = trainer.train({
      method: 'sft',
      rows: [{ messages: [...ASK, { role: 'assistant' as const, content: 'hello' }] }],
      fromAdapterId: null,
      label: 'x',
      adapterId: 'x',
      config: trainConfig({ steps: 200, batchSize: 1 }),
      signal: stop.signal,
      onProgress: (p) => p.step === 1 && stop.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
    // The host's run ended: the next call (queued behind it) is answered, and the adapter was never made.
    await expect(engine.exportAdapter('x')).rejects.toMatchObject({ code: 'not-found' });
    expect(events.slice(before).filter((e) => e.kind === 'step').length).toBeLessThan(5);
    expect((await engine.chat({ messages: ASK, maxTokens: 2 })).usage.completionTokens).toBe(2);
  });

  it('unload frees the model and its adapters; a new load starts clean', async () => {
    await engine.unload();
    expect(engine.modelId).toBeNull();
    await expect(engine.chat({ messages: ASK })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('Load a model first') });
    await engine.load('qwen');
    expect(engine.model?.config.architecture).toBe('qwen2');
    await expect(engine.chat({ messages: ASK, adapterId: 'w1' })).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('resolveTfjsSource', () => {
  it('finds catalog models, hub repos and app paths', () => {
    expect(resolveTfjsSource('toy-arith', 'http://localhost:4173/app/')).toEqual({ kind: 'url', url: 'http://localhost:4173/app/models/toy-arith/' });
    expect(resolveTfjsSource('smollm2-135m', undefined)).toEqual({ kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
    expect(resolveTfjsSource('org/model', undefined, 'http://localhost:4180')).toEqual({ kind: 'hub', repo: 'org/model', baseUrl: 'http://localhost:4180' });
    expect(resolveTfjsSource('/models/x', 'http://a.test/')).toEqual({ kind: 'url', url: 'http://a.test/models/x/' });
    expect(resolveTfjsSource('https://b.test/m', undefined)).toEqual({ kind: 'url', url: 'https://b.test/m/' });
    expect(() => resolveTfjsSource('not a model', undefined)).toThrow(/not a model the tfjs engine knows/);
  });
});
