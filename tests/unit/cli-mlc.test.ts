/**
 * The MLC commands run for real: `lm mlc-export` writes MLC folders that `lm logits --model MLCDIR` reads
 * (q0f32 gives the HF folder's logits), and `lm merge --format mlc` merges a PEFT adapter into an MLC folder
 * (q0f32: the reference's adapted logits) or into an HF folder converted at --quantization (q4: requantized,
 * with the retention report). Bad flags exit with code 2 and write nothing.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterDir, maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { lm } from './cli-helpers.ts';

let tmp: string;
const path = (...p: string[]) => join(tmp, ...p);
const ids = () => reference('tiny-llama').input_ids.map((r) => r.join(',')).join(':');

async function logitsFile(file: string): Promise<number[][][]> {
  return (JSON.parse(await readFile(file, 'utf8')) as { logits: number[][][] }).logits;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cli-mlc-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('lm mlc-export and lm logits --model MLCDIR', () => {
  it('q0f32: the MLC folder gives the HF folder\'s logits; q4f16_1 loads too', async () => {
    const a = await lm(['mlc-export', '--model', modelDir('tiny-llama'), '--out', path('llama-q0f32'), '--quantization', 'q0f32']);
    expect(a.code, a.stderr).toBe(0);
    expect((await readdir(path('llama-q0f32'))).sort()).toEqual(['mlc-chat-config.json', 'params_shard_0.bin', 'tensor-cache.json', 'tokenizer.json', 'tokenizer_config.json']);
    const b = await lm(['mlc-export', '--model', modelDir('tiny-llama'), '--out', path('llama-q4'), '--quantization', 'q4f16_1']);
    expect(b.code, b.stderr).toBe(0);
    for (const [dir, out] of [
      [modelDir('tiny-llama'), path('hf.json')],
      [path('llama-q0f32'), path('q0.json')],
      [path('llama-q4'), path('q4.json')],
    ]) {
      const r = await lm(['logits', '--model', dir, '--ids', ids(), '--out', out]);
      expect(r.code, r.stderr).toBe(0);
    }
    const hf = await logitsFile(path('hf.json'));
    expect(maxAbsDiff(await logitsFile(path('q0.json')), hf)).toBeLessThanOrEqual(1e-4);
    const q4 = maxAbsDiff(await logitsFile(path('q4.json')), hf);
    expect(q4).toBeGreaterThan(1e-3); // really quantized…
    expect(q4).toBeLessThan(2.5); // …within the bound tests/unit/mlc-load.test.ts states (max 1.64 measured)
  }, 120_000);

  it('refuses a bad quantization and an --out that holds an MLC model', async () => {
    const bad = await lm(['mlc-export', '--model', modelDir('tiny-llama'), '--out', path('x'), '--quantization', 'q3f16_0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--quantization must be q0f32, q0f16, q4f16_1, q4f32_1');
    const again = await lm(['mlc-export', '--model', modelDir('tiny-llama'), '--out', path('llama-q0f32'), '--quantization', 'q0f32']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds an MLC model');
  }, 60_000);
});

describe('lm merge --format mlc', () => {
  it('into an MLC q0f32 folder: the merged folder gives the reference adapted logits, and the report says exact', async () => {
    const r = await lm(['merge', '--format', 'mlc', '--model', path('llama-q0f32'), '--adapter', adapterDir('tiny-llama'), '--out', path('merged-q0'), '--report', path('r0.json')]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(await readFile(path('r0.json'), 'utf8'));
    expect(report).toMatchObject({ quantization: 'q0f32', exact: true, mergedModules: 14 });
    expect(report.retention.kept).toBeCloseTo(1, 4);
    const l = await lm(['logits', '--model', path('merged-q0'), '--ids', ids(), '--out', path('m0.json')]);
    expect(l.code, l.stderr).toBe(0);
    expect(maxAbsDiff(await logitsFile(path('m0.json')), reference('tiny-llama').logits_adapted)).toBeLessThan(1e-3);
  }, 120_000);

  it('from an HF folder at q4f32_1: requantized, with the retention figures', async () => {
    const r = await lm(['merge', '--format', 'mlc', '--model', modelDir('tiny-qwen2'), '--adapter', adapterDir('tiny-qwen2'), '--quantization', 'q4f32_1', '--out', path('merged-q4'), '--report', path('r4.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/requantized\): weights kept [\d.]+, logits kept [\d.]+ \(residual [\d.]+\) on 4 held-out rows/);
    const report = JSON.parse(await readFile(path('r4.json'), 'utf8'));
    expect(report).toMatchObject({ quantization: 'q4f32_1', exact: false, mergedModules: 21 });
    expect(report.retention.kept).toBeGreaterThan(0.9);
    expect(report.retention.kept).toBeLessThan(1.1);
    const chat = JSON.parse(await readFile(path('merged-q4', 'mlc-chat-config.json'), 'utf8'));
    expect(chat.quantization).toBe('q4f32_1');
  }, 120_000);

  it('bad input exits with code 2 and writes nothing', async () => {
    const cases: Array<[string[], string]> = [
      [['--model', path('llama-q4'), '--quantization', 'q0f16'], 'keeps its base\'s quantization'],
      [['--model', modelDir('tiny-llama')], 'say which MLC quantization to write with --quantization'],
      [['--model', path('llama-q0f32'), '--dtype', 'F16'], '--dtype is for --format safetensors'],
      [['--model', path('llama-q0f32'), '--quantization', 'q5'], '--quantization must be'],
    ];
    for (const [flags, message] of cases) {
      const r = await lm(['merge', '--format', 'mlc', '--adapter', adapterDir('tiny-llama'), '--out', path('nothing'), ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const wrongFormat = await lm(['merge', '--format', 'onnx', '--model', modelDir('tiny-llama'), '--adapter', adapterDir('tiny-llama'), '--out', path('nothing')]);
    expect(wrongFormat.code).toBe(2);
    const mismatch = await lm(['merge', '--format', 'mlc', '--model', path('llama-q0f32'), '--adapter', adapterDir('tiny-qwen2'), '--out', path('nothing')]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('--adapter: This adapter does not fit the model');
    await expect(readdir(path('nothing'))).rejects.toThrow();
  }, 120_000);
});
