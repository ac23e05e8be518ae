/** The real `lm` commands on the fixtures, compared with reference.json; bad flags fail with clear messages. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { generateChat } from '../../src/core/model/generate.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { adapterDir, maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { lm } from './cli-helpers.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'studio-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const ids = (rows: number[][]): string => rows.map((r) => r.join(',')).join(':');

describe('lm logits', () => {
  it('writes the reference logits (cpu), adapted logits (wasm), and rows of different lengths', async () => {
    const llama = reference('tiny-llama');
    const qwen = reference('tiny-qwen2');
    const out = [join(tmp, 'a.json'), join(tmp, 'b.json'), join(tmp, 'c.json')];
    const runs = await Promise.all([
      lm(['logits', '--model', modelDir('tiny-llama'), '--ids', ids(llama.input_ids), '--out', out[0]], true),
      lm(['logits', '--model', modelDir('tiny-qwen2'), '--ids', ids(qwen.input_ids), '--adapter', adapterDir('tiny-qwen2'), '--backend', 'wasm', '--out', out[1]]),
      lm(['logits', '--model', modelDir('tiny-llama'), '--ids', ids([llama.input_ids[0].slice(0, 7), llama.input_ids[1].slice(0, 3)]), '--out', out[2]]),
    ]);
    for (const r of runs) expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
    const [a, b, c] = await Promise.all(out.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as { logits: number[][][] }));
    expect(maxAbsDiff(a.logits, llama.logits_base)).toBeLessThan(1e-3);
    expect(maxAbsDiff(b.logits, qwen.logits_adapted)).toBeLessThan(1e-3);
    expect(c.logits.map((r) => r.length)).toEqual([7, 3]);
    expect(maxAbsDiff(c.logits[0], llama.logits_base[0].slice(0, 7))).toBeLessThan(1e-3);
    expect(maxAbsDiff(c.logits[1], llama.logits_base[1].slice(0, 3))).toBeLessThan(1e-3);
  });
});

describe('lm generate', () => {
  it('decodes the reference greedy tokens from --ids, with and without cache and adapter', async () => {
    const ref = reference('tiny-llama');
    const base = ['generate', '--model', modelDir('tiny-llama'), '--ids', ref.greedy_prompt.join(','), '--max-tokens', '8', '--ignore-eos', '--json'];
    const runs = await Promise.all([lm(base), lm([...base, '--adapter', adapterDir('tiny-llama'), '--no-cache', '--backend', 'cpu'])]);
    for (const r of runs) expect(r, r.stderr).toMatchObject({ code: 0 });
    const [plain, adapted] = runs.map((r) => JSON.parse(r.stdout) as { tokens: number[]; finishReason: string });
    expect(plain.tokens).toEqual(ref.greedy_base);
    expect(plain.finishReason).toBe('length');
    expect(adapted.tokens).toEqual(ref.greedy_adapted);
  });

  it('runs on the threads asked and on 8-bit weights, printing their logit error against F32', async () => {
    const ref = reference('tiny-llama');
    const r = await lm(['generate', '--model', modelDir('tiny-llama'), '--ids', ref.greedy_prompt.join(','), '--max-tokens', '8', '--ignore-eos', '--json', '--threads', '1', '--weights', 'int8']);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stderr).toMatch(/^8-bit weights: max \|Δ logit\| [\d.e-]+ .* greedy tokens changed\n$/);
    const out = JSON.parse(r.stdout) as { tokens: number[] };
    expect(out.tokens).toHaveLength(8);
  });

  it('runs on packed F32 weights: the fixture\'s greedy tokens, and their logit error against F32', async () => {
    const ref = reference('tiny-llama');
    const r = await lm(['generate', '--model', modelDir('tiny-llama'), '--ids', ref.greedy_prompt.join(','), '--max-tokens', String(ref.greedy_base.length), '--ignore-eos', '--json', '--weights', 'f32-packed']);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stderr).toMatch(/^packed F32 weights: max \|Δ logit\| [\d.e-]+ .* 0 of 9 greedy tokens changed\n$/);
    expect((JSON.parse(r.stdout) as { tokens: number[] }).tokens).toEqual(ref.greedy_base);
    // With the fixture's adapter, on the kernels: its greedy tokens.
    const a = await lm(['generate', '--model', modelDir('tiny-llama'), '--adapter', adapterDir('tiny-llama'), '--ids', ref.greedy_prompt.join(','), '--max-tokens', String(ref.greedy_adapted.length), '--ignore-eos', '--json', '--weights', 'f32-packed']);
    expect(a, a.stderr).toMatchObject({ code: 0 });
    expect((JSON.parse(a.stdout) as { tokens: number[] }).tokens).toEqual(ref.greedy_adapted);
  });

  it('applies the chat template to --prompt and --messages and prints the completion', async () => {
    const messagesFile = join(tmp, 'messages.json');
    await writeFile(messagesFile, JSON.stringify([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }]));
    const [fromPrompt, fromMessages] = await Promise.all([
      lm(['generate', '--model', modelDir('tiny-qwen2'), '--prompt', 'hi', '--max-tokens', '6', '--temperature', '0.7', '--top-p', '0.9', '--seed', '3'], true),
      lm(['generate', '--model', modelDir('tiny-qwen2'), '--messages', messagesFile, '--max-tokens', '6']),
    ]);
    expect(fromPrompt, fromPrompt.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(fromMessages, fromMessages.stderr).toMatchObject({ code: 0 });
    await useNodeBackend('wasm');
    const model = await loadModel(await nodeDirSource(modelDir('tiny-qwen2')));
    const want1 = await generateChat(model, [{ role: 'user', content: 'hi' }], { maxTokens: 6, temperature: 0.7, topP: 0.9, seed: 3 });
    const want2 = await generateChat(model, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], { maxTokens: 6 });
    model.dispose();
    expect(fromPrompt.stdout).toBe(`${want1.text}\n`);
    expect(fromMessages.stdout).toBe(`${want2.text}\n`);
  });
});

describe('bad command lines', () => {
  it('fail with exit code 2 (bad input) or 1 (other errors) and say what is wrong', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['logits', '--model', modelDir('tiny-llama'), '--ids', '1,2', '--out', join(tmp, 'x.json'), '--batch', '3'], 2, /lm logits: unknown flag --batch\.\nusage: npm run -s lm -- logits/],
      [['generate', '--model', join(tmp, 'nowhere'), '--prompt', 'a'], 1, /lm generate: .*nowhere is not a folder/],
      [['frobnicate'], 2, /lm: unknown command "frobnicate". Commands: logits, generate/],
    ];
    const runs = await Promise.all(cases.map(([args]) => lm(args)));
    runs.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(cases[i][1]);
      expect(r.stderr).toMatch(cases[i][2]);
      expect(r.stdout).toBe('');
    });
  });

  it('name the flag and the problem (checked in-process, before any model is loaded)', async () => {
    const m = modelDir('tiny-llama');
    const badMessages = join(tmp, 'bad.json');
    await writeFile(badMessages, JSON.stringify([{ role: 'robot', content: 'x' }]));
    const { command: logits } = await import('../../src/cli/commands/logits.ts');
    const { command: generate } = await import('../../src/cli/commands/generate.ts');
    const cases: Array<[typeof logits, string[], RegExp]> = [
      [logits, ['--model', m, '--ids', '1,2'], /--out is required/],
      [logits, ['--model', m, '--model', m, '--ids', '1', '--out', 'x'], /--model is given twice/],
      [logits, ['--model', m, 'extra', '--ids', '1', '--out', 'x'], /unexpected argument "extra"/],
      [logits, ['--model', m, '--ids', '1,x', '--out', join(tmp, 'x.json')], /--ids must be comma-separated token ids/],
      [logits, ['--model', m, '--ids', '1,999', '--out', join(tmp, 'x.json')], /token id 999 is outside the vocabulary \(0–299\)/],
      [generate, ['--model', m, '--prompt', 'a', '--max-tokens', '1.5'], /--max-tokens must be a whole number, not "1.5"/],
      [generate, ['--model', m, '--prompt', 'a', '--temperature', 'hot'], /--temperature must be a number, not "hot"/],
      [generate, ['--model', m, '--prompt'], /--prompt needs a value/],
      [generate, ['--model', m, '--prompt', 'a', '--ids', '1'], /give exactly one of --prompt, --messages or --ids/],
      [generate, ['--model', m, '--prompt', 'a', '--backend', 'webgpu'], /Backend "webgpu" is not available in Node/],
      [generate, ['--model', m, '--messages', badMessages], /message 0 .* needs "role" \(system, user or assistant\)/],
      [generate, ['--model', m, '--messages', join(tmp, 'missing.json')], /cannot read .*missing.json/],
      [generate, ['--model', m, '--prompt', 'a', '--top-p', '2'], /top-p 2 must be in \(0, 1\]/],
      [generate, ['--model', m, '--prompt', 'a', '--threads', '0'], /--threads must be a whole number ≥ 1, not 0/],
      [generate, ['--model', m, '--prompt', 'a', '--weights', 'int4'], /weight format must be one of f32, f32-packed, int8, not "int4"/],
    ];
    for (const [command, argv, message] of cases) {
      await expect(command.run(argv), argv.join(' ')).rejects.toThrow(message);
    }
  });
});
