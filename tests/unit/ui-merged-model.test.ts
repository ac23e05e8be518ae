/**
 * The Adapters tab's "Download merged model": a stored adapter (fixture PEFT weights in a fake IndexedDB)
 * merged by the in-process tfjs engine on tiny-llama into a zip of model.safetensors + config + tokenizer, or
 * (the button's default choice) of model.gguf Q8_0 + Modelfile + README, with the steps the button shows; when
 * the action is offered, and the error for another model's adapter.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gguf } from '@huggingface/gguf';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TfjsLocalEngine } from '../../src/core/engine/tfjs/local.ts';
import { createNodeTfjs } from '../../src/core/engine/tfjs/node-local.ts';
import { addAdapter } from '../../src/db/adapters.ts';
import type { StudioDb } from '../../src/db/db.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import type { Adapter } from '../../src/db/types.ts';
import { loraFromPeftJson } from '../../src/ui/adapters/adapter-files.ts';
import { MERGED_CHOICES, mergeBlocker, mergedModelZip, mergedZipFileName, mergeStepText, type MergeStep } from '../../src/ui/adapters/merged-model.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { readSafetensorsIndependently } from './train-helpers.ts';
import { uiDb } from './ui-self-fakes.ts';

let engine: TfjsLocalEngine;
let db: StudioDb;
let row: Adapter;

beforeAll(async () => {
  ({ engine } = createNodeTfjs({ modelDir: modelDir('tiny-llama') }));
  await engine.load('tiny-llama');
  db = await uiDb();
  const exp = await createExperiment(db, { name: 'merge' });
  row = await addAdapter(db, {
    experimentId: exp.id,
    name: 'fixture <adapter>',
    baseModelId: 'tiny-llama',
    config: loraFromPeftJson(readFileSync(join(adapterDir('tiny-llama'), 'adapter_config.json'), 'utf8')),
    weights: new Blob([readFileSync(join(adapterDir('tiny-llama'), 'adapter_model.safetensors'))]),
    gguf: null,
    trainingRunId: null,
  });
});
afterAll(() => engine.unload());

describe('merged model download', () => {
  it('adds the stored adapter to the engine, merges it and zips the model folder', async () => {
    const steps: MergeStep[] = [];
    const zip = unzipSync(await mergedModelZip(engine, db, row, (s) => steps.push(s)));
    expect(Object.keys(zip).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const header = readSafetensorsIndependently(zip['model.safetensors']);
    const base = readSafetensorsIndependently(new Uint8Array(readFileSync(join(modelDir('tiny-llama'), 'model.safetensors'))));
    expect([...header.tensors.keys()].sort()).toEqual([...base.tensors.keys()].sort());
    expect(steps.at(-2)).toEqual({ phase: 'merging', done: 21, total: 21 });
    expect(steps.at(-1)).toEqual({ phase: 'zipping' });
    expect(mergeStepText(steps[0])).toBe('Merging… 1 of 21 tensors');
    expect(mergedZipFileName(row)).toBe('fixture-adapter-merged.zip');
  });

  it('offers GGUF Q8_0 first and zips model.gguf, a Modelfile (FROM ./model.gguf) and a README', async () => {
    expect(MERGED_CHOICES[0]).toMatchObject({ format: 'gguf', dtype: 'Q8_0' });
    expect(MERGED_CHOICES.map((c) => `${c.format}:${c.dtype}`)).toEqual(['gguf:Q8_0', 'gguf:F16', 'gguf:F32', 'safetensors:F32']);
    const steps: MergeStep[] = [];
    const zip = unzipSync(await mergedModelZip(engine, db, row, (s) => steps.push(s), MERGED_CHOICES[0]));
    expect(Object.keys(zip).sort()).toEqual(['Modelfile', 'README.md', 'model.gguf']);
    expect(steps.at(-2)).toEqual({ phase: 'merging', done: 21, total: 21 });
    const modelfile = new TextDecoder().decode(zip.Modelfile);
    expect(modelfile.split('\n')[0]).toBe('FROM ./model.gguf');
    expect(modelfile).toContain('PARAMETER stop "<|im_end|>"');
    expect(new TextDecoder().decode(zip['README.md'])).toContain('ollama create tiny-llama-fixture-adapter -f Modelfile');
    const dir = mkdtempSync(join(tmpdir(), 'ui-merged-'));
    try {
      writeFileSync(join(dir, 'model.gguf'), zip['model.gguf']);
      const parsed = await gguf(join(dir, 'model.gguf'), { allowLocalFile: true });
      const md = parsed.metadata as unknown as Record<string, unknown>;
      expect(md).toMatchObject({ 'general.architecture': 'llama', 'general.name': 'tiny-llama + fixture <adapter>', 'general.base_model.0.name': 'tiny-llama', 'general.file_type': 7 });
      expect(parsed.tensorInfos.find((t) => t.name === 'blk.0.attn_q.weight')?.dtype).toBe(8); // Q8_0
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(mergedZipFileName(row, 'gguf')).toBe('fixture-adapter-merged-gguf.zip');
  });

  it('is offered only with the tfjs actor holding the adapter’s base model', () => {
    const tfjs = { kind: 'tfjs' as const, model: { from: 'embedded' as const, id: 'x' }, backend: 'auto' as const };
    expect(mergeBlocker({ status: 'ready', choice: tfjs, modelId: 'tiny-llama' }, row)).toBeNull();
    expect(mergeBlocker({ status: 'empty', choice: null, modelId: null }, row)).toMatch(/load tiny-llama on the tfjs engine as the actor/);
    expect(mergeBlocker({ status: 'ready', choice: { kind: 'webllm', modelId: 'm' }, modelId: 'm' }, row)).toMatch(/tfjs engine/);
    expect(mergeBlocker({ status: 'ready', choice: tfjs, modelId: 'toy-arith' }, row)).toMatch(/belongs to tiny-llama, but the tfjs actor has toy-arith loaded/);
  });

  it('refuses an adapter of another base model with a clear error', async () => {
    const other = { ...row, id: 'other', baseModelId: 'tiny-qwen2' };
    await db.adapters.put(other);
    await expect(mergedModelZip(engine, db, other)).rejects.toMatchObject({ code: 'adapter-mismatch', message: expect.stringMatching(/trained on tiny-qwen2, but tiny-llama is loaded/) });
  });
});
