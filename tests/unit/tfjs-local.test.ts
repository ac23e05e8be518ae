/**
 * The tfjs engine in-process (TfjsLocalEngine + TfjsLocalTrainer over the host) on the fixture models, wasm:
 * chat equals the runtime's own generation (with and without an adapter), adapters are checked and kept
 * apart, chatBatch groups rows by adapter, training reports every step and makes an adapter the engine uses
 * at once, checkpoints resume bit-identically, pause/resume/abort, DPO starts at ln 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import type { AdapterFiles, TrainProgressMessage } from '../../src/core/engine/tfjs/api.ts';
import { createNodeTfjs } from '../../src/core/engine/tfjs/node-local.ts';
import { trainConfig } from '../../src/core/engine/tfjs/train-config.ts';
import type { TfjsLocalEngine, TfjsLocalTrainer } from '../../src/core/engine/tfjs/local.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { encodeChat, generate } from '../../src/core/model/generate.ts';
import { loadModel } from '../../src/core/model/load.ts';
import type { ChatMessage } from '../../src/core/text/types.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { readSafetensorsIndependently } from './train-helpers.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

function fixtureAdapterFiles(name: 'tiny-llama' | 'tiny-qwen2'): AdapterFiles {
  return {
    adapterConfig: readFileSync(join(adapterDir(name), 'adapter_config.json'), 'utf8'),
    safetensors: new Uint8Array(readFileSync(join(adapterDir(name), 'adapter_model.safetensors'))),
  };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a rejection');
}

const ASK: ChatMessage[] = [{ role: 'user', content: 'what is 2+2?' }];
const SFT_ROWS = Array.from({ length: 6 }, (_, i) => ({
  messages: [
    { role: 'user' as const, content: `question ${i}` },
    { role: 'assistant' as const, content: `the answer is ${i * 7}` },
  ],
}));

let engine: TfjsLocalEngine;
let trainer: TfjsLocalTrainer;
const stored = new Map<string, AdapterFiles>();

beforeAll(async () => {
  ({ engine, trainer } = createNodeTfjs({
    modelDir: modelDir('tiny-llama'),
    trainer: {
      newAdapterId: ({ label }) => `t-${label}`,
      onAdapter: (files, info) => void stored.set(info.adapterId, files),
      onEvent: (m) => listeners.forEach((l) => l(m)),
    },
  }));
  await engine.load('tiny-llama');
});
afterAll(() => engine.unload());

describe('TfjsLocalEngine: generation and adapters', () => {
  it('says which backend runs and why, and streams a reply equal to the runtime generating alone', async () => {
    expect(engine.modelId).toBe('tiny-llama');
    expect(engine.backend?.backend).toBe('wasm');
    expect(engine.backend?.reason).toMatch(/wasm backend as asked/);
    expect(engine.model?.parameters).toBeGreaterThan(100_000);
    const pieces: string[] = [];
    const r = await engine.chat({ messages: ASK, maxTokens: 10, onToken: (d) => pieces.push(d) });
    expect(pieces.join('')).toBe(r.text);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    expect(r.usage.prefillTokensPerSec).toBeGreaterThan(0);

    const model = await loadModel(await nodeDirSource(modelDir('tiny-llama')));
    const lora = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-llama')), model.config);
    try {
      const base = await generate(model, encodeChat(model.tokenizer, ASK), { maxTokens: 10 });
      const adapted = await generate(model, encodeChat(model.tokenizer, ASK), { maxTokens: 10, linears: loraLinears(lora) });
      expect(r.text).toBe(base.text);
      await engine.addAdapter('fixture', fixtureAdapterFiles('tiny-llama'));
      const withAdapter = await engine.chat({ messages: ASK, maxTokens: 10, adapterId: 'fixture' });
      expect(withAdapter.text).toBe(adapted.text);
      expect(adapted.tokens).not.toEqual(base.tokens);
    } finally {
      disposeLora(lora);
      model.dispose();
    }
  });

  it('refuses an adapter made for another model, naming the tensor, and keeps what it had', async () => {
    const e = await rejection(engine.addAdapter('fixture', fixtureAdapterFiles('tiny-qwen2')));
    expect(e.code).toBe('adapter-mismatch');
    expect(e.message).toMatch(/base_model\.model\.model\.layers\.\d+\.\w+\.\w+\.lora_[AB]\.weight/);
    // The earlier adapter of that id still works.
    const again = await engine.chat({ messages: ASK, maxTokens: 4, adapterId: 'fixture' });
    expect(again.finishReason).toBe('length');
    expect((await rejection(engine.chat({ messages: ASK, adapterId: 'nope' }))).code).toBe('not-found');
    expect((await rejection(engine.addAdapter('bad id!', fixtureAdapterFiles('tiny-llama')))).code).toBe('bad-input');
  });

  it('exports an adapter as PEFT (+ GGUF) that loads back to the same numbers', async () => {
    const files = await engine.exportAdapter('fixture', { gguf: true });
    expect(JSON.parse(files.adapterConfig)).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, task_type: 'CAUSAL_LM' });
    const mine = readSafetensorsIndependently(files.safetensors);
    const theirs = readSafetensorsIndependently(fixtureAdapterFiles('tiny-llama').safetensors);
    expect([...mine.tensors.keys()].sort()).toEqual([...theirs.tensors.keys()].sort());
    for (const [k, t] of theirs.tensors) expect(Array.from(mine.tensors.get(k)!.values)).toEqual(Array.from(t.values));
    expect(new TextDecoder().decode(files.gguf!.subarray(0, 4))).toBe('GGUF');
  });

  it('chatBatch groups rows by adapter and returns each row as chat would, with progress', async () => {
    const asks = ['one', 'two plus two', 'three'].map((content): ChatMessage[] => [{ role: 'user', content }]);
    const requests = [
      { messages: asks[0], maxTokens: 6 },
      { messages: asks[1], maxTokens: 6, adapterId: 'fixture' },
      { messages: asks[2], maxTokens: 6 },
    ];
    const progress: number[] = [];
    const batch = await engine.chatBatch(requests, { onProgress: (p) => progress.push(p.done) });
    expect(progress).toEqual([1, 2, 3]);
    for (let i = 0; i < requests.length; i++) expect(batch[i].text).toBe((await engine.chat(requests[i])).text);
  });

  it('samples reproducibly with a seed and stops before a stop string', async () => {
    const sampled = { messages: ASK, maxTokens: 12, temperature: 1.2, topK: 50 };
    const a = await engine.chat({ ...sampled, seed: 7 });
    const b = await engine.chat({ ...sampled, seed: 7 });
    const others = await Promise.all([8, 9, 10].map((seed) => engine.chat({ ...sampled, seed })));
    expect(b.text).toBe(a.text);
    expect(others.some((o) => o.text !== a.text)).toBe(true);
    // A stop string taken from the middle of the greedy reply: the reply ends right before it.
    const full = await engine.chat({ messages: ASK, maxTokens: 12 });
    const stop = full.text.slice(3, 5);
    const cut = await engine.chat({ messages: ASK, maxTokens: 12, stop: [stop] });
    expect(cut.finishReason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  it('stops a reply mid-way with the text so far', async () => {
    const stop = new AbortController();
    let n = 0;
    const r = await engine.chat({ messages: ASK, maxTokens: 200, stop: undefined, onToken: () => ++n === 3 && stop.abort(), signal: stop.signal });
    expect(r.finishReason).toBe('abort');
    expect((await rejection(engine.chat({ messages: ASK, signal: stop.signal }))).code).toBe('aborted');
    // The engine goes on working.
    expect((await engine.chat({ messages: ASK, maxTokens: 2 })).usage.completionTokens).toBe(2);
  });
});

describe('TfjsLocalTrainer', () => {
  it('trains an SFT adapter step by step, stores its files, and the engine generates with it at once', async () => {
    const events: TrainProgressMessage[] = [];
    const progress: Array<number | null> = [];
    const config = trainConfig({ steps: 4, batchSize: 3, lr: 1e-2, checkpointEvery: 2, seed: 3 });
    const unsubscribe = collect(events);
    const out = await trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'a', config, onProgress: (p) => progress.push(p.loss) });
    unsubscribe();
    expect(out.adapterId).toBe('t-a');
    expect(out.metrics.steps).toBe(4);
    expect(out.metrics.examples).toBe(6);
    const steps = events.filter((e) => e.kind === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(steps[3].loss).toBeLessThan(steps[0].loss);
    expect(out.metrics.finalLoss).toBe(steps[3].loss);
    expect(events.find((e) => e.kind === 'prepared')).toEqual({ kind: 'prepared', examples: 6, truncated: 0, dropped: 0, totalSteps: 4 });
    expect(events.filter((e) => e.kind === 'checkpoint').map((e) => e.kind === 'checkpoint' && e.step)).toEqual([2, 4]);
    expect(progress.at(-1)).toBe(steps[3].loss);
    // Stored files are a PEFT adapter with the asked configuration; the engine already has the adapter.
    const files = stored.get('t-a')!;
    expect(JSON.parse(files.adapterConfig)).toMatchObject({ r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] });
    expect(readSafetensorsIndependently(files.safetensors).tensors.size).toBe(2 * 2 * 2); // 2 layers × q,v × A,B
    const tuned = await engine.chat({ messages: SFT_ROWS[1].messages.slice(0, 1), maxTokens: 12, adapterId: 't-a' });
    const base = await engine.chat({ messages: SFT_ROWS[1].messages.slice(0, 1), maxTokens: 12 });
    expect(tuned.text).not.toBe(base.text);
  });

  it('resumes from a checkpoint to the same adapter as an uninterrupted run, and the same seed gives the same files', async () => {
    const events: TrainProgressMessage[] = [];
    const stop = collect(events);
    const config = trainConfig({ steps: 4, batchSize: 2, gradAccum: 2, lr: 5e-3, checkpointEvery: 2, seed: 11, lora: { dropout: 0.1 } });
    await trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'full', config });
    await trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'again', config });
    stop();
    const checkpoint = events.find((e) => e.kind === 'checkpoint' && e.step === 2);
    if (checkpoint?.kind !== 'checkpoint') throw new Error('no checkpoint at step 2');
    await trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'resumed', config, resume: checkpoint.files });
    const full = stored.get('t-full')!.safetensors;
    expect(Buffer.from(stored.get('t-again')!.safetensors).equals(Buffer.from(full))).toBe(true);
    expect(Buffer.from(stored.get('t-resumed')!.safetensors).equals(Buffer.from(full))).toBe(true);
  });

  it('continues from an existing adapter with its own LoRA settings', async () => {
    const out = await trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: 'fixture', label: 'cont', config: trainConfig({ steps: 1, batchSize: 6 }) });
    expect(JSON.parse(stored.get(out.adapterId)!.adapterConfig)).toMatchObject({ r: 4, lora_alpha: 8 });
    expect(readSafetensorsIndependently(stored.get(out.adapterId)!.safetensors).tensors.size).toBe(2 * 7 * 2);
  });

  it('pauses, resumes and aborts a run; the engine stays usable', async () => {
    let paused = false;
    let resumedAt = 0;
    const statuses: string[] = [];
    const config = trainConfig({ steps: 3, batchSize: 2, lr: 1e-3 });
    const run = trainer.train({
      method: 'sft',
      rows: SFT_ROWS,
      fromAdapterId: null,
      label: 'paused',
      config,
      onProgress: (p) => {
        if (p.step === 1 && !paused) {
          paused = true;
          void trainer.pause().then(async (isPaused) => {
            expect(isPaused).toBe(true);
            await new Promise((r) => setTimeout(r, 50));
            resumedAt = Date.now();
            await trainer.resume();
          });
        }
      },
    });
    const unsubscribe = collect([], (m) => m.kind === 'status' && statuses.push(m.status));
    const out = await run;
    unsubscribe();
    expect(out.metrics.steps).toBe(3);
    expect(resumedAt).toBeGreaterThan(0);
    expect(statuses).toContain('paused');

    const stop = new AbortController();
    const aborted = trainer.train({
      method: 'sft',
      rows: SFT_ROWS,
      fromAdapterId: null,
      label: 'stopped',
      config: trainConfig({ steps: 50, batchSize: 2 }),
      signal: stop.signal,
      onProgress: (p) => p.step === 2 && stop.abort(),
    });
    expect((await rejection(aborted)).code).toBe('aborted');
    expect(trainer.running).toBe(false);
    expect(stored.has('t-stopped')).toBe(false);
    expect((await engine.chat({ messages: ASK, maxTokens: 2 })).usage.completionTokens).toBe(2);
  });

  it('trains DPO from preference rows; the first step is at ln 2 (a fresh adapter equals the reference)', async () => {
    const events: TrainProgressMessage[] = [];
    const stop = collect(events);
    const rows = Array.from({ length: 4 }, (_, i) => ({
      prompt: [{ role: 'user' as const, content: `pick ${i}` }],
      chosen: [{ role: 'assistant' as const, content: `good ${i}` }],
      rejected: [{ role: 'assistant' as const, content: `bad answer ${i}` }],
    }));
    const out = await trainer.train({ method: 'dpo', rows, fromAdapterId: null, label: 'dpo', config: trainConfig({ steps: 3, batchSize: 4, lr: 1e-2 }) });
    stop();
    const steps = events.filter((e) => e.kind === 'step');
    expect(steps[0].kind === 'step' && Math.abs(steps[0].loss - Math.LN2)).toBeLessThan(1e-5);
    expect(steps.at(-1)!.kind === 'step' && steps.at(-1)!.loss).toBeLessThan(Math.LN2);
    expect(out.metrics.steps).toBe(3);
  });

  it('rejects bad data and settings with clear errors, and a failed store removes the adapter again', async () => {
    const e1 = await rejection(trainer.train({ method: 'sft', rows: [{ messages: [{ role: 'user', content: 'x' }] }], fromAdapterId: null, label: 'bad', config: trainConfig() }));
    expect(e1.code).toBe('bad-input');
    expect(e1.message).toMatch(/no assistant message/);
    const e2 = await rejection(trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'bad2', config: trainConfig({ lr: -1 }) }));
    expect(e2.message).toMatch(/lr/);
    const e3 = await rejection(trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'bad3', config: trainConfig({ lora: { targetModules: ['q_proj'], r: 1000 } }) }));
    expect(e3.message).toMatch(/rank 1000 exceeds/);
    const failing = createNodeTfjs({ modelDir: modelDir('tiny-llama'), trainer: { onAdapter: () => Promise.reject(new AppError('quota-exceeded', 'full')) } });
    await failing.engine.load('tiny-llama');
    const e4 = await rejection(failing.trainer.train({ method: 'sft', rows: SFT_ROWS, fromAdapterId: null, label: 'q', adapterId: 'kept', config: trainConfig({ steps: 1 }) }));
    expect(e4.code).toBe('quota-exceeded');
    expect((await rejection(failing.engine.chat({ messages: ASK, adapterId: 'kept' }))).code).toBe('not-found');
    await failing.engine.unload();
  });
});

/** Subscribes to the shared trainer's events for the duration of a test. */
let listeners: Array<(m: TrainProgressMessage) => void> = [];
function collect(into: TrainProgressMessage[], also?: (m: TrainProgressMessage) => unknown): () => void {
  const f = (m: TrainProgressMessage): void => {
    into.push(m);
    also?.(m);
  };
  listeners.push(f);
  return () => void (listeners = listeners.filter((x) => x !== f));
}
