import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { zipFiles } from '../../src/core/io/zip.ts';
import { addAdapter } from '../../src/db/adapters.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import type { Adapter, TrainingRun } from '../../src/db/types.ts';
import { adapterConfigText, adapterExportZip, adapterFilesOf, cardInfo, loraFromPeftJson, zipFileName } from '../../src/ui/adapters/adapter-files.ts';
import { importAdapter, peftPair } from '../../src/ui/adapters/adapter-import.ts';
import { ensureAdapters } from '../../src/ui/adapters/adapter-sync.ts';
import { requireCapability } from '../../src/core/engine/capabilities.ts';
import { ScriptedEngine } from './scripted-engine.ts';
import { FakeTfjsEngine, uiDb } from './ui-self-fakes.ts';

const LORA = { r: 4, alpha: 8, dropout: 0.05, rslora: false, targetModules: ['q_proj' as const, 'v_proj' as const], layers: null };
const enc = (s: string) => new TextEncoder().encode(s);

function adapterRow(over: Partial<Adapter> = {}): Adapter {
  return { id: 'ad1', experimentId: 'e', name: 'Round 1 <b>adapter</b>', baseModelId: 'toy-arith', config: LORA, weights: new Blob([enc('WEIGHTS')]), gguf: new Blob([enc('GGUF-bytes')]), trainingRunId: 'tr', createdAt: Date.UTC(2026, 0, 2), ...over };
}

describe('adapter files and the export zip', () => {
  it('the zip holds the PEFT pair, adapter.gguf and a model card built from the training run', async () => {
    const run: TrainingRun = { id: 'tr', experimentId: 'e', status: 'done', startedAt: 1, updatedAt: 1, finishedAt: 1, adapterId: 'ad1', error: null, config: { method: 'sft', rowCount: 42, train: { lr: 0.001, optimizer: 'adamw', seed: 3, steps: null, epochs: 3 } } };
    const files = unzipSync(await adapterExportZip(adapterRow(), run, [{ step: 1, loss: 2, lr: 1, tokensPerSec: 1 }, { step: 9, loss: 0.5, lr: 1, tokensPerSec: 1 }]));
    expect(Object.keys(files).sort()).toEqual(['README.md', 'adapter.gguf', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(new TextDecoder().decode(files['adapter_model.safetensors'])).toBe('WEIGHTS');
    expect(new TextDecoder().decode(files['adapter.gguf'])).toBe('GGUF-bytes');
    const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as Record<string, unknown>;
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'toy-arith', use_rslora: false, bias: 'none' });
    const card = new TextDecoder().decode(files['README.md']);
    expect(card).toContain('base_model: "toy-arith"');
    expect(card).toContain('| Training rows | 42 |');
    expect(card).toContain('| Optimizer steps | 9 |');
    expect(card).toContain('| Final loss | 0.5000 |');
    expect(card).not.toContain('<b>');
    expect(cardInfo(adapterRow(), null, [])).toMatchObject({ method: 'sft', dataRows: 0, steps: 0, finalLoss: null });
    const noGguf = unzipSync(await adapterExportZip(adapterRow({ gguf: null }), null, []));
    expect(Object.keys(noGguf).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(zipFileName(adapterRow())).toBe('Round-1-b-adapter-b.zip');
    expect(await adapterFilesOf(adapterRow())).toEqual({ adapterConfig: adapterConfigText(adapterRow()), safetensors: enc('WEIGHTS') });
  });

  it('reads LoRA settings from adapter_config.json', () => {
    expect(loraFromPeftJson(adapterConfigText(adapterRow()))).toEqual(LORA);
    expect(loraFromPeftJson(JSON.stringify({ r: 2, lora_alpha: 4, target_modules: 'all-linear', layers_to_transform: 1, use_rslora: true }))).toEqual({ r: 2, alpha: 4, dropout: 0, rslora: true, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], layers: [1] });
    expect(() => loraFromPeftJson('{')).toThrow(/not valid JSON/);
    expect(() => loraFromPeftJson(JSON.stringify({ r: 0 }))).toThrow(/positive whole number/);
    expect(() => loraFromPeftJson(JSON.stringify({ r: 2, target_modules: ['lm_head'] }))).toThrow(/no target module/);
  });
});

describe('importing a PEFT adapter', () => {
  const pair = () => new Map([['my-adapter/adapter_config.json', enc(adapterConfigText(adapterRow()))], ['my-adapter/adapter_model.safetensors', enc('W')]]);

  it('finds the pair in a folder or a zip, and names what is missing', () => {
    expect(peftPair(pair())).toEqual({ adapterConfig: adapterConfigText(adapterRow()), safetensors: enc('W') });
    expect(peftPair(new Map(Object.entries(unzipSync(zipFiles(pair())))))).toEqual(peftPair(pair()));
    expect(() => peftPair(new Map([['a/adapter_config.json', enc('{}')]]))).toThrow(/lacks adapter_model.safetensors\. Give the folder/);
    expect(() => peftPair(new Map([['adapter_config.json', enc('{}')], ['adapter_model.bin', enc('x')]]))).toThrow(/adapter_model.bin \(PyTorch pickle\) is not read/);
    expect(() => peftPair(new Map([...pair(), ['b/adapter_config.json', enc('{}')]]))).toThrow(/2 files named adapter_config.json/);
  });

  it('is checked by the engine against the loaded model before it is stored; a refused one leaves nothing', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'import' });
    const refused = new FakeTfjsEngine(() => '', { refuseAdapter: () => new AppError('adapter-mismatch', 'Tensor base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight has shape [4, 32]; the model needs [4, 64].') });
    await refused.load('tiny');
    await expect(importAdapter(db, refused, exp.id, 'bad', peftPair(pair()))).rejects.toMatchObject({ code: 'adapter-mismatch', message: expect.stringContaining('layers.0.self_attn.q_proj.lora_A.weight') });
    expect(await db.adapters.count()).toBe(0);
    expect(refused.adapters.size).toBe(0);

    const engine = new FakeTfjsEngine(() => '');
    await engine.load('tiny');
    const row = await importAdapter(db, engine, exp.id, '  ', peftPair(pair()));
    expect(row).toMatchObject({ name: 'Imported adapter', baseModelId: 'tiny', trainingRunId: null, config: LORA });
    expect(await (await db.adapters.get(row.id))!.gguf!.text()).toBe(`GGUF:${row.id}`);
    expect(engine.adapters.has(row.id)).toBe(true);
  });
});

describe('stored adapters in the engine', () => {
  it('adds a stored adapter once per loaded model, again after a reload; refuses another base model', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'sync' });
    const row = await addAdapter(db, { experimentId: exp.id, name: 'a', baseModelId: 'tiny', config: LORA, weights: new Blob([enc('W')]) });
    const engine = new FakeTfjsEngine(() => '');
    await engine.load('tiny');
    let adds = 0;
    const add = engine.addAdapter.bind(engine);
    engine.addAdapter = async (id, files) => {
      adds++;
      return add(id, files);
    };
    await ensureAdapters(engine, db, [row.id, null, undefined]);
    await ensureAdapters(engine, db, [row.id]);
    expect(adds).toBe(1);
    await engine.load('tiny'); // a reload forgets every adapter
    await ensureAdapters(engine, db, [row.id]);
    expect(adds).toBe(2);
    expect(engine.adapters.get(row.id)).toEqual(await adapterFilesOf(row));
    await expect(ensureAdapters(engine, db, ['gone'])).rejects.toThrow(/no longer exists/);
    await engine.load('other');
    await expect(ensureAdapters(engine, db, [row.id])).rejects.toMatchObject({ code: 'adapter-mismatch' });
    expect(() => requireCapability(new ScriptedEngine({ script: [] }), 'trainLora', 'Training')).toThrow(/needs the tfjs engine/);
    // A web-llm actor cannot train: the message names the same model's Hugging Face repo to load on tfjs.
    const webllm = { kind: 'webllm' as const, capabilities: { adapters: false, trainLora: false, evolve: false }, modelId: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC', load: async () => {}, chat: async () => ({ text: '', finishReason: 'stop' as const, usage: { promptTokens: 0, completionTokens: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0, totalMs: 0 } }), unload: async () => {} };
    expect(() => requireCapability(webllm, 'trainLora', 'Training')).toThrow(/For Qwen2\.5 0\.5B Instruct, load the tfjs engine with its Hugging Face repo Qwen\/Qwen2\.5-0\.5B-Instruct/);
    expect(requireCapability(engine, 'trainLora', 'x')).toBe(engine);
  });
});
