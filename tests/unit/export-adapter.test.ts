import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unzipFiles, zipFiles } from '../../src/core/io/zip.ts';
import { adapterExportFiles, adapterExportZip, type AdapterExportInput } from '../../src/core/lora/export.ts';
import { readFilesFromFolder, writeFilesToFolder } from '../../src/core/lora/export-node.ts';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import { modelCard } from '../../src/core/lora/model-card.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { fixtureModelConfig, randomizeLora, readSafetensorsIndependently } from './train-helpers.ts';

const model = fixtureModelConfig('tiny-llama');
const dir = mkdtempSync(join(tmpdir(), 'export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(w: LoraWeights, format: AdapterExportInput['format'], baseModel = 'HuggingFaceTB/SmolLM2-135M-Instruct'): AdapterExportInput {
  return {
    weights: w,
    model,
    baseModel,
    format,
    card: { method: 'sft', dataRows: 120, truncatedRows: 3, steps: 30, epochs: 1, finalLoss: 1.23456, learningRate: 2e-4, optimizer: 'adamw', seed: 0, date: '2025-06-01' },
  };
}

describe('adapter export', () => {
  it('builds PEFT + GGUF + README, and a zip that unpacks to the same bytes', async () => {
    const w = initLora({ r: 8, alpha: 16, dropout: 0.05, rslora: false, targetModules: ['q_proj', 'v_proj'], layers: null }, model, 0);
    randomizeLora(w, 2);
    const files = await adapterExportFiles(input(w, 'both'));
    expect([...files.keys()].sort()).toEqual(['README.md', 'adapter.gguf', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')!)).r).toBe(8);
    const st = readSafetensorsIndependently(files.get('adapter_model.safetensors')!);
    expect(st.tensors.size).toBe(2 * 2 * 2);
    expect(new TextDecoder().decode(files.get('adapter.gguf')!.subarray(0, 4))).toBe('GGUF');

    const zip = await adapterExportZip(input(w, 'both'));
    const back = unzipFiles(zip);
    expect([...back.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [name, bytes] of files) {
      if (name === 'README.md') continue;
      expect(Buffer.from(back.get(name)!).equals(Buffer.from(bytes)), name).toBe(true);
    }
    disposeLora(w);
  });

  it('writes a model card with the base model, data size, steps, final loss, LoRA settings and how to load it', async () => {
    const w = initLora({ r: 8, alpha: 16, dropout: 0.05, rslora: false, targetModules: ['q_proj', 'v_proj'], layers: [1] }, model, 0);
    const files = await adapterExportFiles(input(w, 'both'));
    const card = new TextDecoder().decode(files.get('README.md')!);
    expect(card.startsWith('---\nbase_model: "HuggingFaceTB/SmolLM2-135M-Instruct"\nlibrary_name: peft\n')).toBe(true);
    for (const s of ['| Training rows | 120 (3 truncated) |', '| Optimizer steps | 30 |', '| Final loss | 1.2346 |', '| LoRA rank r | 8 |',
      '| lora_alpha | 16 |', '| Target modules | q_proj, v_proj |', '| Layers | 1 |', '| Scaling | 2 (alpha / r) |',
      'PeftModel.from_pretrained', '--lora adapter.gguf', 'ADAPTER ./adapter.gguf', '2025-06-01',
      '--format gguf', 'FROM ./model.gguf', 'ollama create my-refined-model -f Modelfile', '## Older Ollama and llama.cpp `--lora`', 'Ollama itself was not run']) {
      expect(card, s).toContain(s);
    }
    const peftOnly = new TextDecoder().decode((await adapterExportFiles(input(w, 'peft'))).get('README.md')!);
    expect(peftOnly).not.toContain('ADAPTER');
    expect(peftOnly).toContain('FROM ./model.gguf'); // the merged route needs only the PEFT files
    const ggufOnly = await adapterExportFiles(input(w, 'gguf'));
    expect([...ggufOnly.keys()].sort()).toEqual(['README.md', 'adapter.gguf']);
    disposeLora(w);
  });

  it('renders an untrusted base model name as text, never as HTML or a YAML break-out', () => {
    const card = modelCard({
      baseModel: 'evil"\n<script>alert(1)</script>',
      lora: { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: ['q_proj'], layers: null },
      method: 'dpo', dataRows: 1, steps: 1, finalLoss: null, hasGguf: false, title: '<img src=x onerror=alert(1)>',
    });
    expect(card).not.toContain('<script>');
    expect(card).not.toContain('<img');
    // one quoted YAML scalar, < and > as \u escapes
    expect(card).toContain('base_model: "evil\\"\\n\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"');
    expect(JSON.parse(card.split('\n')[1].slice('base_model: '.length))).toBe('evil"\n<script>alert(1)</script>');
    expect(card.split('\n')[1].startsWith('base_model: ')).toBe(true);
    expect(card.split('\n')[2]).toBe('library_name: peft');
    expect(card).toContain('&lt;img src=x onerror=alert\\(1\\)&gt;');
    expect(card).toContain('| Final loss | n/a |');
  });

  it('writes a folder in Node without leaving partial files, and reads it back', async () => {
    const files = new Map([['a.json', new TextEncoder().encode('{}')], ['sub/b.bin', new Uint8Array([1, 2, 3])]]);
    await writeFilesToFolder(join(dir, 'out'), files);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['a.json', 'sub']);
    expect(Array.from(readFileSync(join(dir, 'out', 'sub', 'b.bin')))).toEqual([1, 2, 3]);
    expect(existsSync(join(dir, 'out', 'a.json.partial'))).toBe(false);
    const back = await readFilesFromFolder(join(dir, 'out'), ['a.json', 'missing.json']);
    expect([...back.keys()]).toEqual(['a.json']);
    await expect(readFilesFromFolder(join(dir, 'out'), ['missing.json'], { required: ['missing.json'] })).rejects.toThrow(/missing/);
    await expect(writeFilesToFolder(join(dir, 'out'), new Map([['../escape.txt', new Uint8Array(1)]]))).rejects.toThrow(/outside/);
  });

  it('refuses unsafe names inside a zip and unreadable zips', () => {
    expect(() => zipFiles(new Map([['../x', new Uint8Array(1)]]))).toThrow(/not a safe file name/);
    expect(() => unzipFiles(new Uint8Array([1, 2, 3, 4]))).toThrow(/not a readable zip/);
  });
});
