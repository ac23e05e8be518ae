/**
 * `lm merge` run for real on the fixtures: the merged folder, loaded as a plain model without any adapter,
 * gives the reference's adapted logits (tiny-llama from its single model.safetensors; tiny-qwen2 — tied
 * embeddings, q/k/v biases — from a sharded copy with an index); it holds every tensor of the base checkpoint
 * and the base's config and tokenizer files; --dtype BF16 writes BF16. Bad input (missing adapter, an
 * adapter for another model, an --out that already holds a model, a bad --dtype) fails with exit code 2 and
 * a message naming the flag and the problem, and writes nothing. --format gguf writes model.gguf (Q8_0 by
 * default), a Modelfile (FROM ./model.gguf) and a README, naming the model by its folder, never its path;
 * `lm export-gguf` writes a base model as one GGUF file.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gguf } from '@huggingface/gguf';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { writeSafetensors, type TensorToWrite } from '../../src/core/io/safetensors-write.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { adapterDir, maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';
import { readSafetensorsIndependently } from './train-helpers.ts';
import { REPO_ROOT } from '../fixtures/paths.ts';
import { lm, type Run } from './cli-helpers.ts';

let tmp: string;
const path = (...p: string[]) => join(tmp, ...p);
const runs: Record<string, Run> = {};

/** A copy of tiny-qwen2 with its weights split over two shards and a model.safetensors.index.json. */
async function shardedQwen(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const src = modelDir('tiny-qwen2');
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await writeFile(join(dir, name), await readFile(join(src, name)));
  const read = readSafetensorsIndependently(new Uint8Array(await readFile(join(src, 'model.safetensors'))));
  const names = [...read.tensors.keys()];
  const half = Math.ceil(names.length / 2);
  const weightMap: Record<string, string> = {};
  for (const [i, part] of [names.slice(0, half), names.slice(half)].entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors = new Map<string, TensorToWrite>();
    for (const n of part) {
      const t = read.tensors.get(n)!;
      tensors.set(n, { shape: t.shape, data: Float32Array.from(t.values) }); // BF16 values are exact in F32
      weightMap[n] = file;
    }
    await writeFile(join(dir, file), writeSafetensors(tensors));
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

/** Logits of the reference input through a folder loaded as a plain model (no adapter). */
async function logitsOf(dir: string, name: 'tiny-llama' | 'tiny-qwen2'): Promise<number[][][]> {
  const model = await loadModel(await nodeDirSource(dir));
  try {
    const ids = tf.tensor2d(reference(name).input_ids, undefined, 'int32');
    const logits = forward(model, ids, { linears: null });
    ids.dispose();
    const out = (await logits.array()) as number[][][];
    logits.dispose();
    return out;
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cli-merge-'));
  await shardedQwen(path('qwen-sharded'));
  await mkdir(path('qwen-out')); // an existing, empty --out is fine
  await mkdir(path('taken'));
  await writeFile(path('taken', 'model.safetensors'), 'keep me');
  const relQwen = relative(REPO_ROOT, modelDir('tiny-qwen2')); // a relative path with slashes: a folder, not a hub id
  const [ggufRun, exportRun] = await Promise.all([
    lm(['merge', '--model', relQwen, '--adapter', adapterDir('tiny-qwen2'), '--out', path('qwen-gguf'), '--format', 'gguf']),
    lm(['export-gguf', '--model', relQwen, '--out', path('qwen-base.gguf'), '--dtype', 'F16']),
  ]);
  const exportAgain = await lm(['export-gguf', '--model', relQwen, '--out', path('qwen-base.gguf')]);
  Object.assign(runs, { gguf: ggufRun, export: exportRun, exportAgain });
  const [llama, qwen, bf16, taken] = await Promise.all([
    lm(['merge', '--model', modelDir('tiny-llama'), '--adapter', adapterDir('tiny-llama'), '--out', path('llama-out')]),
    lm(['merge', '--model', path('qwen-sharded'), '--adapter', adapterDir('tiny-qwen2'), '--out', path('qwen-out'), '--backend', 'wasm']),
    lm(['merge', '--model', modelDir('tiny-llama'), '--adapter', adapterDir('tiny-llama'), '--out', path('llama-bf16'), '--dtype', 'bf16']),
    lm(['merge', '--model', modelDir('tiny-llama'), '--adapter', adapterDir('tiny-llama'), '--out', path('taken')]),
  ]);
  Object.assign(runs, { llama, qwen, bf16, taken });
  await useNodeBackend('cpu');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('lm merge', () => {
  it('writes a folder that, loaded without the adapter, gives the adapted reference logits', async () => {
    for (const name of ['llama', 'qwen', 'bf16'] as const) expect(runs[name].code, runs[name].stderr).toBe(0);
    expect(runs.llama.stderr).toMatch(/merged 14 projections \(scaling 2\) into .*: 21 tensors, model\.safetensors 0\.5 MiB \(F32\)/);
    expect(runs.llama.stdout.trim().split('\n').sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path('llama-out', f)));
    const llama = reference('tiny-llama');
    const qwen = reference('tiny-qwen2');
    const merged = await logitsOf(path('llama-out'), 'tiny-llama');
    expect(maxAbsDiff(merged, llama.logits_adapted)).toBeLessThan(1e-3);
    expect(maxAbsDiff(merged, llama.logits_base)).toBeGreaterThan(1e-2); // the adapter really changed the weights
    expect(maxAbsDiff(await logitsOf(path('qwen-out'), 'tiny-qwen2'), qwen.logits_adapted)).toBeLessThan(1e-3);
  });

  it('keeps every tensor of the base checkpoint, its config and tokenizer files; --dtype BF16 writes BF16', async () => {
    for (const [out, base, files] of [
      [path('llama-out'), modelDir('tiny-llama'), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']],
      [path('qwen-out'), modelDir('tiny-qwen2'), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']],
    ] as const) {
      expect((await readdir(out)).sort()).toEqual(files);
      const mine = readSafetensorsIndependently(new Uint8Array(await readFile(join(out, 'model.safetensors'))));
      const theirs = readSafetensorsIndependently(new Uint8Array(await readFile(join(base, 'model.safetensors'))));
      expect(mine.metadata).toEqual({ format: 'pt' });
      expect([...mine.tensors.keys()].sort()).toEqual([...theirs.tensors.keys()].sort());
      for (const [name, t] of mine.tensors) {
        expect(t.shape, name).toEqual(theirs.tensors.get(name)!.shape);
        expect(t.dtype, name).toBe('F32');
      }
      // Only the projections change: a norm is copied exactly.
      expect(Array.from(mine.tensors.get('model.norm.weight')!.values)).toEqual(Array.from(theirs.tensors.get('model.norm.weight')!.values));
      expect(await readFile(join(out, 'tokenizer.json'))).toEqual(await readFile(join(base, 'tokenizer.json')));
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      const baseConfig = JSON.parse(await readFile(join(base, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config).toEqual({ ...baseConfig, torch_dtype: 'float32', ...('dtype' in baseConfig ? { dtype: 'float32' } : {}) });
    }
    const f32 = readSafetensorsIndependently(new Uint8Array(await readFile(path('llama-out', 'model.safetensors'))));
    const bf16 = readSafetensorsIndependently(new Uint8Array(await readFile(path('llama-bf16', 'model.safetensors'))));
    expect(JSON.parse(await readFile(path('llama-bf16', 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    expect([...bf16.tensors.keys()]).toEqual([...f32.tensors.keys()]);
    for (const [name, t] of bf16.tensors) {
      expect(t.dtype).toBe('BF16');
      const ref = f32.tensors.get(name)!.values;
      let worst = 0; // BF16 keeps 8 significant bits: |x − bf16(x)| ≤ 2⁻⁸·|x|
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(t.values[i] - ref[i]) - Math.abs(ref[i]) * 2 ** -8);
      expect(worst, name).toBeLessThanOrEqual(0);
    }
  });

  it('refuses an --out that already holds a model (exit code 2) and leaves it as it was', async () => {
    expect(runs.taken.code, runs.taken.stderr).toBe(2);
    expect(runs.taken.stderr).toMatch(/^lm merge: --out .*taken already holds a model \(model\.safetensors\); nothing was written\. Choose a new or empty folder/);
    expect(runs.taken.stdout).toBe('');
    expect(await readFile(path('taken', 'model.safetensors'), 'utf8')).toBe('keep me');
    expect((await readdir(path('taken'))).sort()).toEqual(['model.safetensors']);
  });

  it('--format gguf writes model.gguf (Q8_0), a Modelfile with FROM and a README; names never hold the path', async () => {
    expect(runs.gguf.code, runs.gguf.stderr).toBe(0);
    expect(runs.gguf.stderr).toMatch(/merged 21 projections \(scaling 2\) into model: 38 tensors, model\.gguf [\d.]+ MiB \(Q8_0\)\npre-tokenizer gpt-2; Modelfile with TEMPLATE; stop <\|im_end\|>/);
    expect((await readdir(path('qwen-gguf'))).sort()).toEqual(['Modelfile', 'README.md', 'model.gguf']);
    const mf = await readFile(path('qwen-gguf', 'Modelfile'), 'utf8');
    expect(mf.split('\n')[0]).toBe('FROM ./model.gguf');
    expect(mf).toMatch(/^TEMPLATE """[\s\S]*\{\{ range \.Messages \}\}[\s\S]*"""$/m);
    expect(mf).toContain('PARAMETER stop "<|im_end|>"');
    expect(mf).not.toContain('ADAPTER');
    const readme = await readFile(path('qwen-gguf', 'README.md'), 'utf8');
    expect(readme).toContain('ollama create model-merged -f Modelfile');
    expect(readme).toContain('Ollama itself was not run');
    const parsed = await gguf(path('qwen-gguf', 'model.gguf'), { allowLocalFile: true });
    const md = parsed.metadata as unknown as Record<string, unknown>;
    expect(md).toMatchObject({ 'general.architecture': 'qwen2', 'general.type': 'model', 'general.name': 'model merged', 'general.finetune': 'merged-lora', 'general.base_model.0.name': 'model', 'general.file_type': 7 });
    expect(md['general.base_model.0.repo_url']).toBeUndefined();
    for (const [k, v] of Object.entries(md)) if (typeof v === 'string' && !k.startsWith('tokenizer.')) expect(v, k).not.toMatch(/fixtures|shared|\//);
    expect(parsed.tensorInfos.find((t) => t.name === 'blk.0.attn_q.weight')?.dtype).toBe(8);
  });

  it('lm export-gguf writes the base model as one GGUF file and refuses to overwrite it', async () => {
    expect(runs.export.code, runs.export.stderr).toBe(0);
    expect(runs.export.stdout.trim()).toBe(path('qwen-base.gguf'));
    expect(runs.export.stderr).toMatch(/^model: 38 tensors, [\d.]+ MiB \(F16\)\npre-tokenizer gpt-2\n$/);
    const parsed = await gguf(path('qwen-base.gguf'), { allowLocalFile: true });
    const md = parsed.metadata as unknown as Record<string, unknown>;
    expect(md).toMatchObject({ 'general.name': 'model', 'general.file_type': 1 });
    expect(md['general.finetune']).toBeUndefined();
    expect(parsed.tensorInfos).toHaveLength(38);
    expect(runs.exportAgain.code).toBe(2);
    expect(runs.exportAgain.stderr).toMatch(/--out .*qwen-base\.gguf already exists; nothing was written/);
  });

  it('says what is wrong with bad input, as bad input, and writes nothing', async () => {
    const { command } = await import('../../src/cli/commands/merge.ts');
    const llama = modelDir('tiny-llama');
    const cases: Array<[string[], RegExp]> = [
      [['--model', llama, '--adapter', path('nowhere'), '--out', path('x1')], /--adapter .*nowhere is not a folder\. Pass the folder PEFT's save_pretrained wrote: adapter_config\.json and adapter_model\.safetensors/],
      [['--model', llama, '--adapter', llama, '--out', path('x2')], /--adapter .* has no adapter_config\.json and adapter_model\.safetensors/],
      [
        ['--model', llama, '--adapter', adapterDir('tiny-qwen2'), '--out', path('x3')],
        /--adapter: This adapter does not fit the model: tensor base_model\.model\.model\.layers\.0\.\S+\.lora_[AB]\.weight has shape \[[\d, ]+\], but r=4 on this model's \w+ needs \[[\d, ]+\] — the adapter was trained for a different model/,
      ],
      [['--model', path('nowhere'), '--adapter', adapterDir('tiny-llama'), '--out', path('x4')], /--model: .*nowhere is not a folder/],
      [['--model', llama, '--adapter', adapterDir('tiny-llama'), '--out', path('x5'), '--dtype', 'F8'], /--dtype must be F32, F16, BF16, not "F8"/],
      [['--model', llama, '--adapter', adapterDir('tiny-llama'), '--out', path('taken', 'model.safetensors')], /--out .* is a file, not a folder/],
      [['--model', llama, '--adapter', adapterDir('tiny-llama')], /--out is required/],
      [['--model', llama, '--adapter', adapterDir('tiny-llama'), '--out', path('x6'), '--format', 'onnx'], /--format must be safetensors, gguf or mlc, not "onnx"/],
      [['--model', llama, '--adapter', adapterDir('tiny-llama'), '--out', path('x7'), '--format', 'gguf', '--dtype', 'BF16'], /--dtype must be F32, F16, Q8_0, not "BF16" \(for --format gguf\)/],
    ];
    for (const [argv, message] of cases) {
      const e = await command.run(argv).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, argv.join(' ')).toBeInstanceOf(AppError);
      expect((e as AppError).code, argv.join(' ')).toBe('bad-input');
      expect((e as AppError).message).toMatch(message);
    }
    for (const n of [1, 2, 3, 4, 5, 6, 7]) expect(await stat(path(`x${n}`)).catch(() => null)).toBeNull();
  });
});
