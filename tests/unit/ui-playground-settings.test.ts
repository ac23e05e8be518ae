/**
 * Playground settings kept with an experiment (engine choice, refine settings, run configs), the endpoint kept
 * only in this browser, model sources for the tfjs engine, and the web-llm catalog rows.
 */
import { describe, expect, it } from 'vitest';
import type { GpuInfo } from '../../src/core/engine/gpu.ts';
import { AppError } from '../../src/core/errors.ts';
import { createKindRegistry } from '../../src/core/refine/kinds.ts';
import { MATH_TEMPLATES } from '../../src/core/refine/templates.ts';
import { exportBundle } from '../../src/db/bundle/export.ts';
import { DEFAULT_LIMITS } from '../../src/db/bundle/format.ts';
import { readZip } from '../../src/db/bundle/zip.ts';
import { createExperiment, getExperiment, updateExperiment } from '../../src/db/experiments.ts';
import { listSettings } from '../../src/db/settings.ts';
import { tfjsModelId, tfjsSource } from '../../src/ui/engines/engine-builders.ts';
import { describeTfjs } from '../../src/ui/engines/tfjs-builder.ts';
import {
  DEFAULT_ENGINE_SETUP,
  describeChoice,
  parseEngineChoice,
  readEngineSetup,
  sameChoice,
  writeEngineSetup,
  type EngineSetup,
} from '../../src/ui/engines/engine-setup.ts';
import { checkEndpoint, ENDPOINT_SETTING_KEY, forgetEndpoint, loadEndpoint, saveEndpoint } from '../../src/ui/engines/endpoint-store.ts';
import { gpuSummary, webllmRows } from '../../src/ui/engines/webllm-rows.ts';
import {
  DEFAULT_REFINE_SETTINGS,
  budgetChoice,
  generationParams,
  readRefineSettings,
  templateEdits,
  templatesFor,
  writeRefineSettings,
} from '../../src/ui/playground/refine-settings.ts';
import { loopIdFor, parseRunConfig, runConfigJson, type RefineRunConfig } from '../../src/ui/playground/run-config.ts';
import { patchSettings } from '../../src/ui/playground/experiment-settings.ts';
import { freshDb } from './db-helpers.ts';

const SWIFTSHADER: GpuInfo = {
  available: true,
  reason: null,
  features: ['float32-filterable'],
  vendor: 'google',
  architecture: 'swiftshader',
  description: 'SwiftShader',
  isFallbackAdapter: true,
  maxBufferSize: 2 ** 30,
  maxStorageBufferBindingSize: 2 ** 27,
};

describe('engine choice in the experiment settings', () => {
  it('defaults to the embedded toy model on tfjs (backend auto) with no critic', () => {
    expect(readEngineSetup({})).toEqual({ setup: DEFAULT_ENGINE_SETUP, problem: null });
    expect(DEFAULT_ENGINE_SETUP.actor).toEqual({ kind: 'tfjs', model: { from: 'embedded', id: 'toy-arith' }, backend: 'auto' });
  });

  it('writes and reads back every kind of choice, leaving other settings alone', () => {
    const setup: EngineSetup = {
      actor: { kind: 'tfjs', model: { from: 'hub', repo: 'fixtures/tiny-llama', hubUrl: 'http://localhost:4180' }, backend: 'wasm' },
      critic: { kind: 'webllm', modelId: 'qwen3-1.7b' },
    };
    const settings = writeEngineSetup({ refine: { oracle: 'off' }, other: 1 }, setup);
    expect(settings.other).toBe(1);
    expect(readEngineSetup(JSON.parse(JSON.stringify(settings)))).toEqual({ setup, problem: null });
    const openai = writeEngineSetup({}, { actor: DEFAULT_ENGINE_SETUP.actor, critic: { kind: 'openai' } });
    expect(openai.engines).toEqual({ actor: { kind: 'tfjs', backend: 'auto', model: { from: 'embedded', id: 'toy-arith' } }, critic: { kind: 'openai' } });
    expect(sameChoice(setup.actor, parseEngineChoice(JSON.parse(JSON.stringify(setup.actor))))).toBe(true);
    expect(sameChoice(setup.actor, DEFAULT_ENGINE_SETUP.actor)).toBe(false);
    expect(describeChoice(setup.critic!)).toBe('web-llm · Qwen3 1.7B (critic)');
  });

  it('shows the default with a reason when the stored choice is unusable, and checks forms', () => {
    const r = readEngineSetup({ engines: { actor: { kind: 'webllm', modelId: 'gpt-99' } } });
    expect(r.setup).toEqual(DEFAULT_ENGINE_SETUP);
    expect(r.problem).toMatch(/"gpt-99" is not a web-llm model of the catalog/);
    expect(() => parseEngineChoice({ kind: 'tfjs', backend: 'cuda', model: { from: 'embedded', id: 'toy-arith' } })).toThrow(/auto, webgpu or wasm/);
    expect(() => parseEngineChoice({ kind: 'tfjs', model: { from: 'hub', repo: 'no-slash' } })).toThrow(/not a Hugging Face repo id/);
    expect(() => parseEngineChoice({ kind: 'tfjs', model: { from: 'hub', repo: 'a/b', hubUrl: 'ftp://x' } })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseEngineChoice({ kind: 'webllm', modelId: 'toy-arith' })).toThrow(/not a web-llm model/);
    expect(() => parseEngineChoice({ kind: 'magic' })).toThrow(/Unknown engine "magic"/);
  });
});

describe('experiment settings, one key at a time', () => {
  it('rewrites only the key a feature owns, on the stored value, and can set the header fields with it', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'keys', settings: { lora: { r: 8 } } });
    const setup: EngineSetup = { actor: { kind: 'webllm', modelId: 'qwen2.5-0.5b' }, critic: null };
    // Two saves made from the same stale copy of the experiment: neither undoes the other.
    await Promise.all([
      patchSettings(db, exp.id, (s) => writeEngineSetup(s, setup), { engine: 'webllm', modelId: 'qwen2.5-0.5b' }),
      patchSettings(db, exp.id, (s) => writeRefineSettings(s, { ...DEFAULT_REFINE_SETTINGS, stepThrough: true })),
    ]);
    const after = (await getExperiment(db, exp.id))!;
    expect(after).toMatchObject({ engine: 'webllm', modelId: 'qwen2.5-0.5b' });
    expect(after.settings.lora).toEqual({ r: 8 });
    expect(readEngineSetup(after.settings).setup).toEqual(setup);
    expect(readRefineSettings(after.settings).value.stepThrough).toBe(true);
    await expect(patchSettings(db, 'missing', (s) => s)).rejects.toThrow(/no longer exists/);
  });
});

describe('the OpenAI-compatible endpoint stays in this browser', () => {
  it('is stored in the settings table, not in the experiment, and never in an exported bundle', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'critic test' });
    await updateExperiment(db, exp.id, { settings: writeEngineSetup({}, { actor: DEFAULT_ENGINE_SETUP.actor, critic: { kind: 'openai' } }) });
    const saved = await saveEndpoint(db, { baseUrl: ' http://localhost:8000/v1/chat/completions ', model: ' llama3 ', apiKey: 'sk-SECRET-123' });
    expect(saved).toEqual({ baseUrl: 'http://localhost:8000/v1', model: 'llama3', apiKey: 'sk-SECRET-123' });
    expect(await loadEndpoint(db)).toEqual(saved);
    expect((await listSettings(db)).map((s) => s.key)).toContain(ENDPOINT_SETTING_KEY);
    expect(JSON.stringify(await getExperiment(db, exp.id))).not.toContain('SECRET');
    const { bytes } = await exportBundle(db, exp.id);
    const text = [...readZip(bytes, DEFAULT_LIMITS).values()].map((b) => new TextDecoder().decode(b)).join('\n');
    expect(text).toContain('"openai"'); // the choice itself is exported…
    expect(text).not.toContain('SECRET'); // …the key is not
    expect(text).not.toContain('localhost:8000');
    await forgetEndpoint(db);
    expect(await loadEndpoint(db)).toBeNull();
  });

  it('refuses a bad endpoint with a clear message', () => {
    expect(() => checkEndpoint({ baseUrl: 'localhost:8000', model: 'm', apiKey: '' })).toThrow(AppError);
    expect(() => checkEndpoint({ baseUrl: 'http://x/v1', model: '  ', apiKey: '' })).toThrow(/Enter the model name/);
  });
});

describe('refine settings', () => {
  it('has usable defaults and round-trips through the experiment settings', () => {
    expect(readRefineSettings({})).toEqual({ value: DEFAULT_REFINE_SETTINGS, problems: [] });
    const s = structuredClone(DEFAULT_REFINE_SETTINGS);
    s.params = { maxTokens: 64, temperature: 0.7, topP: 0.9, topK: null, seed: 5 };
    s.stop = { maxRounds: 2, scoreThreshold: null, stopOnNoIssues: false, stopOnUnchanged: true, maxUnparsedInRow: 3 };
    s.oracle = 'accompany';
    s.templates = { math: { system: 'Be brief.' } };
    s.stepThrough = true;
    s.historyLimit = 2;
    const written = writeRefineSettings({ engines: { x: 1 } }, s);
    expect(written.engines).toEqual({ x: 1 });
    expect(readRefineSettings(JSON.parse(JSON.stringify(written)))).toEqual({ value: s, problems: [] });
    // The token limit travels as the budget choice, resolved per task kind (budgets.ts).
    expect(generationParams(s.params)).toEqual({ temperature: 0.7, topP: 0.9, seed: 5 });
    expect(budgetChoice(s)).toEqual({ answerTokens: 64, feedbackTokens: 64 });
    expect(templatesFor('math', s)).toEqual({ ...MATH_TEMPLATES, system: 'Be brief.' });
  });

  it('keeps valid parts of a damaged stored value and names what it dropped', () => {
    const r = readRefineSettings({
      refine: { params: { maxTokens: -3 }, stop: { maxRounds: 2 }, templates: { math: { draft: 'no placeholder' } }, batchSize: 1000, oracle: 'sometimes' },
    });
    expect(r.value.params).toEqual(DEFAULT_REFINE_SETTINGS.params);
    expect(r.value.stop.maxRounds).toBe(2);
    expect(r.value.templates).toEqual({});
    expect(r.value.batchSize).toBe(8);
    expect(r.value.oracle).toBe('off');
    expect(r.problems.join(' ')).toMatch(/Sampling: Max new tokens.*Templates: The "draft" template must contain \{prompt\}.*Batch size/);
  });

  it('refuses to save settings that cannot work', () => {
    const s = structuredClone(DEFAULT_REFINE_SETTINGS);
    s.stop.scoreThreshold = 11;
    expect(() => writeRefineSettings({}, s)).toThrow(/score threshold must be between 1 and 10/);
    const t = structuredClone(DEFAULT_REFINE_SETTINGS);
    t.templates = { open: { feedback: 'Judge {answer} for {nonsense}' } };
    expect(() => writeRefineSettings({}, t)).toThrow(/uses \{nonsense\}/);
  });

  it('stores only the template fields that differ from the kind default', () => {
    const r = createKindRegistry();
    const edited = { ...r.templates('open'), system: 'Short answers only.' };
    expect(templateEdits('open', edited, r)).toEqual({ system: 'Short answers only.' });
    expect(templateEdits('open', r.templates('open'), r)).toEqual({});
  });
});

describe('run config', () => {
  const config: RefineRunConfig = {
    mode: 'batch',
    taskIds: ['t1', 't2'],
    actor: { kind: 'tfjs', modelId: 'toy-arith', label: 'tfjs · Toy' },
    critic: null,
    params: { maxTokens: 32, temperature: 0, seed: 1, stop: ['###'] },
    budgets: { math: { draft: 32, feedback: 32, refine: 32, stop: [] } },
    stop: { maxRounds: 2, scoreThreshold: 9, stopOnNoIssues: true, stopOnUnchanged: true, maxUnparsedInRow: 2 },
    oracle: 'replace',
    templates: { math: MATH_TEMPLATES },
    historyLimit: null,
    stepThrough: false,
    batchSize: 4,
  };

  it('round-trips as JSON and names loops deterministically', () => {
    expect(parseRunConfig(JSON.parse(JSON.stringify(runConfigJson(config))))).toEqual(config);
    expect(loopIdFor('run-1', 't2')).toBe('run-1/t2');
  });

  it('says what is missing in a config it cannot use', () => {
    expect(() => parseRunConfig({})).toThrow(/not started from the playground/);
    expect(() => parseRunConfig({ ...runConfigJson(config), taskIds: [] })).toThrow(/does not list its tasks/);
    expect(() => parseRunConfig({ ...runConfigJson(config), actor: null })).toThrow(/which actor engine/);
    expect(() => parseRunConfig({ ...runConfigJson(config), templates: { math: { draft: 'x' } } })).toThrow(/template/);
    expect(() => parseRunConfig({ ...runConfigJson(config), stop: { maxRounds: 99 } })).toThrow(/round limit/);
  });
});

describe('tfjs model sources', () => {
  it('resolves the embedded model against the page, hub repos with their mirror, and picked folders', () => {
    expect(tfjsSource({ from: 'embedded', id: 'toy-arith' }, null, 'http://localhost:4173/#/experiments/x/playground')).toEqual({
      kind: 'url',
      url: 'http://localhost:4173/models/toy-arith/',
    });
    expect(tfjsSource({ from: 'embedded', id: 'toy-arith' }, null, 'https://example.org/studio/index.html')).toEqual({
      kind: 'url',
      url: 'https://example.org/studio/models/toy-arith/',
    });
    expect(tfjsSource({ from: 'hub', repo: 'fixtures/tiny-llama', hubUrl: 'http://localhost:4180' }, null, 'http://x/')).toEqual({
      kind: 'hub',
      repo: 'fixtures/tiny-llama',
      baseUrl: 'http://localhost:4180',
    });
    const files = [new File(['{}'], 'config.json')];
    expect(tfjsSource({ from: 'folder', name: 'm' }, files, 'http://x/')).toEqual({ kind: 'files', files });
    expect(() => tfjsSource({ from: 'folder', name: 'm' }, null, 'http://x/')).toThrow(/Pick the model folder "m" again/);
    expect(() => tfjsSource({ from: 'embedded', id: 'qwen2.5-0.5b' }, null, 'http://x/')).toThrow(/not a model embedded/);
    expect(tfjsModelId({ from: 'hub', repo: 'a/b', hubUrl: 'https://huggingface.co' })).toBe('a/b');
  });

  it('says which backend the tfjs engine runs on and why', () => {
    expect(describeTfjs(null, null)).toBeNull();
    const backend = { backend: 'wasm' as const, reason: 'no hardware WebGPU adapter: using wasm', threads: 1, threadReason: null, kernels: null };
    expect(describeTfjs(backend, null)).toBe('Backend: wasm — no hardware WebGPU adapter: using wasm');
    const model = { modelId: 'm', config: {} as never, loadMs: 1500, backend, parameters: 123_456, weightFormat: 'f32' as const, formatError: null };
    expect(describeTfjs({ ...backend, threads: 4 }, model)).toBe('Backend: wasm (4 threads) — no hardware WebGPU adapter: using wasm · 0.12 M parameters, loaded in 1.5 s');
    expect(describeTfjs({ ...backend, threads: 2, threadReason: '2 threads: every core (2 cores)' }, null)).toBe('Backend: wasm (2 threads) — no hardware WebGPU adapter: using wasm · 2 threads: every core (2 cores)');
    const formatError = { format: 'int8' as const, maxLogit: 0.031, maxLogProb: 0.02, positions: 9, logitScale: 4.2, tokensChanged: 0 };
    expect(describeTfjs(backend, { ...model, weightFormat: 'int8', formatError })).toBe(
      'Backend: wasm — no hardware WebGPU adapter: using wasm · 0.12 M parameters, loaded in 1.5 s · 8-bit weights: max |Δ logit| 0.031 (|logit| ≤ 4.2), max |Δ log p| 0.020 against F32 over 9 probe positions; 0 of 9 greedy tokens changed',
    );
  });
});

describe('web-llm catalog rows', () => {
  it('explains the q4f32 pick on an adapter without shader-f16, and shows cached and partial downloads', () => {
    const rows = webllmRows(SWIFTSHADER, [
      { webllmId: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC', cached: true, entries: 12 },
      { webllmId: 'SmolLM2-360M-Instruct-q4f16_1-MLC', cached: false, entries: 3 },
    ]);
    const qwen = rows.find((r) => r.entry.id === 'qwen2.5-0.5b')!;
    expect(qwen.choice?.variant.quantization).toBe('q4f32_1');
    expect(qwen.choice?.reason).toMatch(/lacks the WebGPU feature shader-f16/);
    expect(qwen.cached).toEqual(['Qwen2.5-0.5B-Instruct-q4f32_1-MLC']);
    expect(rows.find((r) => r.entry.id === 'smollm2-360m')!.partial).toEqual(['SmolLM2-360M-Instruct-q4f16_1-MLC']);
    expect(rows.some((r) => r.entry.id === 'toy-arith')).toBe(false);
    expect(gpuSummary(SWIFTSHADER)).toMatch(/lacks shader-f16, so 32-bit-float builds are picked \(q4f32, or q0f32 for a model without a 4-bit build\)/);
  });

  it('says why nothing runs without WebGPU', () => {
    const none: GpuInfo = { ...SWIFTSHADER, available: false, reason: 'navigator.gpu is missing', features: [] };
    const rows = webllmRows(none, null);
    expect(rows.every((r) => r.choice === null && /has no WebGPU/.test(r.problem ?? ''))).toBe(true);
    expect(gpuSummary(none)).toMatch(/No WebGPU here: navigator.gpu is missing/);
    expect(webllmRows(null, null).every((r) => r.choice === null && r.problem === null)).toBe(true);
  });
});
