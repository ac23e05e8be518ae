import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import { AppError } from '../../src/core/errors.ts';
import { generateMany } from '../../src/core/refine/generate.ts';
import { estimateProgress, formatEta, phaseEstimate } from '../../src/core/refine/progress.ts';

const msg = (content: string) => [{ role: 'user' as const, content }];

describe('ScriptedEngine', () => {
  it('streams its reply in pieces that add up to the text, and reports usage', async () => {
    const e = new ScriptedEngine({ script: ['  Hello there,\nworld! '] });
    const pieces: string[] = [];
    const r = await e.chat({ messages: msg('say hi please'), onToken: (d) => pieces.push(d) });
    expect(pieces.join('')).toBe('  Hello there,\nworld! ');
    expect(pieces.length).toBeGreaterThan(1);
    expect(r).toMatchObject({ text: '  Hello there,\nworld! ', finishReason: 'stop' });
    expect(r.usage).toMatchObject({ promptTokens: 3, completionTokens: 3 });
    expect(e.calls[0]).toEqual({ messages: msg('say hi please') });
  });

  it('honours stop strings and maxTokens like a real engine', async () => {
    const e = new ScriptedEngine({ script: () => 'one two three STOP four five' });
    expect((await e.chat({ messages: msg('x'), stop: ['STOP'] })).text).toBe('one two three ');
    const cut = await e.chat({ messages: msg('x'), maxTokens: 2 });
    expect(cut).toMatchObject({ text: 'one two', finishReason: 'length' });
    expect(cut.usage.completionTokens).toBe(2);
  });

  it('aborts: before the call (throws) and mid-generation (partial text, finishReason "abort")', async () => {
    const e = new ScriptedEngine({ script: () => 'a b c d e f g h i j k l' });
    const pre = new AbortController();
    pre.abort();
    await expect(e.chat({ messages: msg('x'), signal: pre.signal })).rejects.toMatchObject({ code: 'aborted' });
    const mid = new AbortController();
    let n = 0;
    const r = await e.chat({ messages: msg('x'), signal: mid.signal, onToken: () => ++n === 3 && mid.abort() });
    expect(r).toMatchObject({ text: 'a b c', finishReason: 'abort' });
    // An abort from outside (a timer, a Stop button) lands too.
    const outside = new AbortController();
    const slow = new ScriptedEngine({ script: () => 'a b c d e f g h', tokenDelayMs: 5 });
    setTimeout(() => outside.abort(), 12);
    const r2 = await slow.chat({ messages: msg('x'), signal: outside.signal });
    expect(r2.finishReason).toBe('abort');
    expect(r2.text.length).toBeLessThan('a b c d e f g h'.length);
  });

  it('fails clearly when unloaded, out of script, or scripted to fail; loads and unloads', async () => {
    const e = new ScriptedEngine({ script: ['only one', new AppError('engine', 'boom')], modelId: null });
    await expect(e.chat({ messages: msg('x') })).rejects.toThrow(/No model is loaded/);
    const progress: string[] = [];
    await e.load('m1', { onProgress: (p) => progress.push(p.text) });
    expect(e.modelId).toBe('m1');
    expect(progress).toEqual(['Scripted model m1 ready.']);
    expect((await e.chat({ messages: msg('x') })).text).toBe('only one');
    await expect(e.chat({ messages: msg('x') })).rejects.toThrow('boom');
    await expect(e.chat({ messages: msg('x') })).rejects.toThrow(/only 2 replies; call 3 has none/);
    await e.unload();
    expect(e.modelId).toBeNull();
    expect(new ScriptedEngine({ script: [] }).chatBatch).toBeUndefined();
  });
});

describe('generateMany', () => {
  it('uses chatBatch in chunks when offered, else one by one, with progress', async () => {
    const batched = new ScriptedEngine({ script: (r) => `echo ${r.messages[0].content}`, batch: true });
    const progress: [number, number][] = [];
    const out = await generateMany(batched, ['a', 'b', 'c', 'd', 'e'].map((c) => ({ messages: msg(c) })), { batchSize: 2, onProgress: (d, t) => progress.push([d, t]) });
    expect(out.map((r) => r.text)).toEqual(['echo a', 'echo b', 'echo c', 'echo d', 'echo e']);
    expect(batched.batchCalls).toBe(2); // [a, b], [c, d]; the last one alone goes through chat
    expect(progress).toEqual([[2, 5], [4, 5], [5, 5]]);
    const plain = new ScriptedEngine({ script: (r) => r.messages[0].content });
    expect((await generateMany(plain, [{ messages: msg('x') }, { messages: msg('y') }])).map((r) => r.text)).toEqual(['x', 'y']);
    expect(await generateMany(plain, [])).toEqual([]);
  });

  it('turns aborts into AppError("aborted")', async () => {
    const c = new AbortController();
    const e = new ScriptedEngine({ script: () => 'a b c d e f g h i j' });
    const run = generateMany(e, [{ messages: msg('x'), onToken: () => c.abort() }], { signal: c.signal });
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('progress and ETA', () => {
  it('is a pure function of counts and elapsed time', () => {
    expect(estimateProgress(0, 10, 5000)).toEqual({ done: 0, total: 10, fraction: 0, elapsedMs: 5000, ratePerSec: 0, etaMs: null });
    expect(estimateProgress(4, 10, 8000)).toEqual({ done: 4, total: 10, fraction: 0.4, elapsedMs: 8000, ratePerSec: 0.5, etaMs: 12000 });
    expect(estimateProgress(10, 10, 9000).etaMs).toBe(0);
    expect(estimateProgress(12, 10, 1000)).toMatchObject({ done: 10, fraction: 1, etaMs: 0 });
    expect(estimateProgress(0, 0, 0)).toMatchObject({ fraction: 1, etaMs: 0 });
    expect(estimateProgress(-3, 10, -5)).toMatchObject({ done: 0, elapsedMs: 0, etaMs: null });
  });

  it('formats the ETA for people', () => {
    expect(formatEta(null)).toBe('estimating…');
    expect(formatEta(0)).toBe('finishing');
    expect(formatEta(400)).toBe('about 1 s left');
    expect(formatEta(42_000)).toBe('about 42 s left');
    expect(formatEta(185_000)).toBe('about 3 min left');
    expect(formatEta(2 * 3600_000 + 5 * 60_000)).toBe('about 2 h 5 min left');
  });

  it('a phase estimate from a fraction inside the phase (training, then the merge after it) is not floored to 0', () => {
    expect(phaseEstimate(3, 4, 1000)).toEqual(estimateProgress(3, 4, 1000));
    const e = phaseEstimate(2, 5, 8000, 0.85);
    expect(e.fraction).toBeCloseTo(0.85, 6);
    expect(e.etaMs).toBe(Math.round((8000 / 850) * 150));
    expect(phaseEstimate(0, 1, 1000, 1.2).fraction).toBe(1);
  });
});
