/**
 * Issue 5's whole pipeline end to end in Chromium with the REAL tfjs worker (wasm) on the tiny-llama fixture from
 * the hub stand-in: a loop step by step, a reload in the middle, resume; a batch; collect samples (filters,
 * provenance, include/exclude); export the dataset (TRL JSONL, every row checked); train a LoRA adapter for a few
 * steps; export the adapter (zip: PEFT config and tensor names, GGUF header, model card) and the merged model
 * (zip: model.safetensors with the base's tensors, W + scaling·B·A checked, config and tokenizer); chat with it in the
 * playground; evaluate base vs adapter — and every stored row checked with raw IndexedDB.
 * The fixture's weights are random, so its text is noise; every step of the pipeline runs on it as on a real model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { fixturesDir } from '../fixtures/paths.ts';
import { createExperiment, openApp, recordDialogs } from './helpers/app.ts';
import { readRows, stepThroughToFeedback } from './playground-helpers.ts';
import { addToyTasks, blobSizes, download, loadTinyLlama, setNumber } from './pipeline-helpers.ts';

interface StepRow {
  id: string;
  runId: string;
  taskId: string;
  loopId: string;
  kind: string;
  refineRound: number;
  evolutionRound: number;
  text: string;
  adapterId: string | null;
  engine: string;
  modelId: string;
}
interface SampleRow {
  id: string;
  format: string;
  prompt: { role: string; content: string }[];
  chosen: string;
  rejected: string | null;
  included: boolean;
  provenance: { stepIds: string[]; runId: string | null; round: number };
}

/** An F32 safetensors file's tensors (names → shape and values), read here independently of the app. */
function readF32Safetensors(bytes: Uint8Array): Map<string, { shape: number[]; values: Float32Array }> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    expect(e.dtype, name).toBe('F32');
    const raw = bytes.slice(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    out.set(name, { shape: e.shape, values: new Float32Array(raw.buffer) });
  }
  return out;
}

test('the pipeline on tiny-llama: loop + reload + resume, samples, JSONL, training, adapter zip, adapter chat, evaluation', async ({ page }) => {
  test.setTimeout(180_000);
  const dialogs = recordDialogs(page);
  await openApp(page);
  const id = await createExperiment(page, 'Pipeline');
  await addToyTasks(page, id, 4, 3);
  const tasks = await readRows<{ id: string; prompt: string; split: string }>(page, 'tasks');
  const trainTasks = tasks.filter((t) => t.split === 'train');

  // 1. One loop, step by step; reload in the middle; resume to the end.
  await page.goto(`/#/experiments/${id}/playground`);
  await loadTinyLlama(page);
  await page.getByTestId('refine-settings').locator('summary').click();
  await page.getByTestId('set-max-tokens').fill('6');
  await page.getByTestId('set-max-rounds').fill('1');
  await page.getByTestId('save-refine-settings').click();
  await expect(page.getByTestId('notice-banner')).toContainText('Settings saved');
  await page.getByTestId('refine-settings').locator('summary').click();
  await page.getByTestId('task-select').selectOption(trainTasks[0].id);
  const gate = await stepThroughToFeedback(page);
  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
  const stored = page.getByTestId('playground-run').first();
  await expect(stored).toHaveAttribute('data-status', 'interrupted');
  const beforeResume = await readRows<StepRow>(page, 'steps');
  expect(beforeResume.map((s) => s.kind)).toEqual(['draft']);
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toBeVisible({ timeout: 60_000 });
  await stored.getByTestId('resume-run').click();
  await expect(gate).toHaveAttribute('data-kind', 'feedback');
  await page.getByTestId('run-to-end').click();
  await expect(page.getByTestId('live-run')).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  const loopSteps = await readRows<StepRow>(page, 'steps');
  expect(loopSteps[0]).toEqual(beforeResume[0]);
  expect(loopSteps.map((s) => `${s.kind}@${s.refineRound}`).slice(0, 3)).toEqual(['draft@0', 'feedback@0', 'refinement@1']);

  // 2. A batch over the train tasks (more loops to learn from).
  await page.getByTestId('step-through').uncheck();
  await page.getByTestId('batch-split').selectOption('train');
  await page.getByTestId('batch-limit').fill('4');
  await page.getByTestId('run-batch').click();
  await expect(page.getByTestId('batch-progress-label')).toContainText('4 of 4 tasks done', { timeout: 90_000 });
  await expect(page.getByTestId('live-run')).toHaveAttribute('data-status', 'done');
  const runs = await readRows<{ id: string; kind: string; status: string }>(page, 'runs');
  expect(runs.map((r) => `${r.kind}:${r.status}`)).toEqual(['refine:done', 'batch:done']);

  // 3. Collect samples from both runs: SFT, preference pairs and meta-skill rows; dropped loops stored switched off.
  await page.getByTestId('tab-samples').click();
  for (const r of runs) await page.locator(`[data-testid="collect-run"][data-id="${r.id}"]`).check();
  await page.getByTestId('shape-meta').check();
  await page.getByTestId('shape-preference').check();
  await page.getByTestId('filter-improved').check();
  await page.getByTestId('collect-samples').click();
  await expect(page.getByTestId('collect-report')).toContainText('5 loops');
  const steps = await readRows<StepRow>(page, 'steps');
  const stepById = new Map(steps.map((s) => [s.id, s]));
  let samples = await readRows<SampleRow>(page, 'samples');
  const sft = samples.filter((s) => s.format === 'sft');
  // One SFT sample per loop, except that an identical (prompt, final answer) pair is stored once: the single
  // loop and the batch's loop over the same task answer alike (greedy).
  const finals = new Map<string, StepRow>();
  for (const st of steps) if (st.kind === 'draft' || st.kind === 'refinement') finals.set(st.loopId, st);
  const distinct = new Set([...finals.values()].map((f) => `${f.taskId}|${f.text.trim()}`));
  expect(finals.size).toBe(5);
  expect(sft).toHaveLength(distinct.size);
  for (const s of samples) {
    expect(['sft', 'dpo', 'meta']).toContain(s.format);
    expect(s.provenance.round).toBe(0);
    expect(runs.map((r) => r.id)).toContain(s.provenance.runId);
    expect(s.provenance.stepIds.length).toBeGreaterThan(0);
    for (const sid of s.provenance.stepIds) expect(stepById.get(sid)?.runId).toBe(s.provenance.runId);
    if (s.format === 'sft') {
      const final = stepById.get(s.provenance.stepIds[0])!;
      expect(s.chosen).toBe(final.text.trim());
      expect(s.prompt.at(-1)?.role).toBe('user');
      expect(s.rejected).toBeNull();
    }
    if (s.format === 'meta') expect(s.provenance.stepIds.map((x) => stepById.get(x)!.kind)).toEqual([expect.stringMatching(/draft|refinement/), 'feedback', 'refinement']);
  }
  // The filter (score improved) decides `included`; "keep dropped" stored the rest switched off.
  const report = await page.getByTestId('collect-report').textContent();
  const kept = Number(/(\d+) kept/.exec(report ?? '')?.[1]);
  expect(sft.filter((s) => s.included)).toHaveLength(kept);
  // Include every SFT sample by hand, then exclude one.
  for (const s of sft.filter((x) => !x.included)) await page.locator(`[data-testid="sample"][data-id="${s.id}"] [data-testid="sample-include"]`).check();
  await page.locator(`[data-testid="sample"][data-id="${sft[0].id}"] [data-testid="sample-include"]`).uncheck();
  await expect(page.locator(`[data-testid="sample"][data-id="${sft[0].id}"]`)).toHaveAttribute('data-included', 'false');
  samples = await readRows<SampleRow>(page, 'samples');
  const includedSft = samples.filter((s) => s.format === 'sft' && s.included);
  expect(includedSft).toHaveLength(sft.length - 1);
  const nIncluded = includedSft.length;

  await page.screenshot({ path: test.info().outputPath('pipeline-samples.png'), fullPage: true });

  // 4. The dataset as TRL JSONL with provenance: one row per included SFT sample.
  await page.getByTestId('export-format').selectOption('sft-messages');
  await page.getByTestId('export-provenance').check();
  const jsonl = (await download(page, () => page.getByTestId('export-samples').click())).toString('utf8');
  const lines = jsonl.trimEnd().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[]; provenance: { sampleId: string; stepIds: string[] } });
  expect(lines).toHaveLength(nIncluded);
  for (const [i, line] of lines.entries()) {
    const s = includedSft[i];
    expect(Object.keys(line)).toEqual(['messages', 'provenance']);
    expect(line.messages).toEqual([...s.prompt, { role: 'assistant', content: s.chosen }]);
    expect(line.provenance).toMatchObject({ sampleId: s.id, stepIds: s.provenance.stepIds });
  }

  // 5. Train a LoRA adapter for a few steps on the included samples.
  await page.getByTestId('tab-training').click();
  await expect(page.getByTestId('sample-counts')).toContainText(`${nIncluded} SFT`);
  await page.getByTestId('train-name').fill('pipeline adapter');
  await page.getByTestId('train-length').selectOption('steps');
  await setNumber(page, 'train-steps', 4);
  await setNumber(page, 'train-batch', 2);
  await setNumber(page, 'train-seqlen', 64);
  await setNumber(page, 'train-lr', 0.01);
  await setNumber(page, 'train-checkpoint', 0);
  await page.getByTestId('start-training').click();
  await expect(page.getByTestId('training-live')).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  await expect(page.getByTestId('training-progress-label')).toContainText('step 4 of 4');
  await expect(page.getByTestId('loss-chart')).toBeVisible();
  const trainingRuns = await readRows<{ id: string; status: string; adapterId: string; config: { method: string; rowCount: number; sampleIds: string[]; baseModelId: string; origin: { kind: string }; train: { steps: number; batchSize: number } } }>(page, 'trainingRuns');
  expect(trainingRuns).toHaveLength(1);
  const tr = trainingRuns[0];
  expect(tr).toMatchObject({ status: 'done', config: { method: 'sft', rowCount: nIncluded, baseModelId: 'fixtures/tiny-llama', origin: { kind: 'manual' }, train: { steps: 4, batchSize: 2 } } });
  expect(tr.config.sampleIds).toEqual(includedSft.map((s) => s.id));
  const metricRows = await readRows<{ trainingRunId: string; step: number; point: { loss: number; lr: number; tokensPerSec: number } }>(page, 'trainingMetrics');
  expect(metricRows.map((m) => m.step)).toEqual([1, 2, 3, 4]);
  for (const m of metricRows) {
    expect(m.trainingRunId).toBe(tr.id);
    expect(Number.isFinite(m.point.loss)).toBe(true);
    expect(m.point.lr).toBeCloseTo(0.01, 6);
    expect(m.point.tokensPerSec).toBeGreaterThan(0);
  }
  const adapters = await readRows<{ id: string; name: string; baseModelId: string; trainingRunId: string; config: { r: number; alpha: number; targetModules: string[] } }>(page, 'adapters');
  expect(adapters).toEqual([expect.objectContaining({ id: tr.adapterId, name: 'pipeline adapter', baseModelId: 'fixtures/tiny-llama', trainingRunId: tr.id })]);
  const [sizes] = await blobSizes(page, 'adapters', ['weights', 'gguf']);
  expect(sizes.weights).toBeGreaterThan(1000);
  expect(sizes.gguf).toBeGreaterThan(1000);

  await page.screenshot({ path: test.info().outputPath('pipeline-training.png'), fullPage: true });

  // 6. Export the adapter: PEFT config and tensor names, GGUF header, model card.
  await page.getByTestId('tab-adapters').click();
  await expect(page.getByTestId('adapter-name')).toHaveText('pipeline adapter');
  await page.screenshot({ path: test.info().outputPath('pipeline-adapters.png'), fullPage: true });
  const zip = unzipSync(new Uint8Array(await download(page, () => page.getByTestId('adapter-export').click())));
  expect(Object.keys(zip).sort()).toEqual(['README.md', 'adapter.gguf', 'adapter_config.json', 'adapter_model.safetensors']);
  const cfg = JSON.parse(new TextDecoder().decode(zip['adapter_config.json'])) as Record<string, unknown>;
  expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: adapters[0].config.r, lora_alpha: adapters[0].config.alpha, target_modules: adapters[0].config.targetModules, bias: 'none', base_model_name_or_path: 'fixtures/tiny-llama' });
  const st = zip['adapter_model.safetensors'];
  const headerLen = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + headerLen))) as Record<string, { shape: number[] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  expect(names).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
  expect(names).toContain('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
  expect(header['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'].shape).toEqual([adapters[0].config.r, 64]);
  expect(new TextDecoder().decode(zip['adapter.gguf'].subarray(0, 4))).toBe('GGUF');
  const path = test.info().outputPath('adapter.gguf');
  await import('node:fs/promises').then((fs) => fs.writeFile(path, zip['adapter.gguf']));
  const parsed = await gguf(path, { allowLocalFile: true });
  const meta = parsed.metadata as unknown as Record<string, unknown>;
  expect(meta['general.type']).toBe('adapter');
  expect(meta['adapter.type']).toBe('lora');
  expect(new TextDecoder().decode(zip['README.md'])).toContain('library_name: peft');

  // 6b. Download the merged model: GGUF Q8_0 by default (model.gguf + a Modelfile with FROM + README)…
  await expect(page.getByTestId('adapter-merged')).toBeEnabled();
  await expect(page.getByTestId('adapter-merged-format')).toHaveValue('gguf:Q8_0');
  const mergedGguf = unzipSync(new Uint8Array(await download(page, () => page.getByTestId('adapter-merged').click())));
  expect(Object.keys(mergedGguf).sort()).toEqual(['Modelfile', 'README.md', 'model.gguf']);
  expect(new TextDecoder().decode(mergedGguf.Modelfile)).toMatch(/^FROM \.\/model\.gguf\nTEMPLATE """/);
  const ggufPath = test.info().outputPath('model.gguf');
  await import('node:fs/promises').then((fs) => fs.writeFile(ggufPath, mergedGguf['model.gguf']));
  const mergedMeta = (await gguf(ggufPath, { allowLocalFile: true })).metadata as unknown as Record<string, unknown>;
  expect(mergedMeta).toMatchObject({ 'general.architecture': 'llama', 'general.type': 'model', 'general.file_type': 7 });
  // …and the base with the adapter merged in as a plain safetensors model folder.
  await page.getByTestId('adapter-merged-format').selectOption('safetensors:F32');
  const merged = unzipSync(new Uint8Array(await download(page, () => page.getByTestId('adapter-merged').click())));
  expect(Object.keys(merged).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  expect(JSON.parse(new TextDecoder().decode(merged['config.json']))).toMatchObject({ model_type: 'llama', torch_dtype: 'float32' });
  const mergedST = readF32Safetensors(merged['model.safetensors']);
  const baseST = readF32Safetensors(new Uint8Array(await readFile(join(fixturesDir(), 'tiny-llama/model/model.safetensors'))));
  expect([...mergedST.keys()].sort()).toEqual([...baseST.keys()].sort());
  for (const [name, t] of baseST) expect(mergedST.get(name)!.shape, name).toEqual(t.shape);
  // W' = W + (alpha / r) · B·A, checked on one projection with the exported adapter's own A and B.
  const lora = readF32Safetensors(st);
  const A = lora.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!; // [r, 64]
  const B = lora.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!; // [64, r]
  const W = baseST.get('model.layers.0.self_attn.q_proj.weight')!; // [64, 64]
  const W2 = mergedST.get('model.layers.0.self_attn.q_proj.weight')!;
  const [r, inF] = A.shape;
  const scaling = adapters[0].config.alpha / adapters[0].config.r;
  let worst = 0;
  let moved = 0;
  for (let o = 0; o < W.shape[0]; o++) {
    for (let i = 0; i < inF; i++) {
      let ba = 0;
      for (let k = 0; k < r; k++) ba += B.values[o * r + k] * A.values[k * inF + i];
      worst = Math.max(worst, Math.abs(W2.values[o * inF + i] - (W.values[o * inF + i] + scaling * ba)));
      moved = Math.max(moved, Math.abs(W2.values[o * inF + i] - W.values[o * inF + i]));
    }
  }
  expect(worst).toBeLessThan(1e-5);
  expect(moved).toBeGreaterThan(0); // training moved B off zero, so the merge changed the weight
  await expect(page.getByTestId('adapter-merged-error')).toHaveCount(0);

  // 7. Chat with the adapter in the playground: its steps carry the adapter id.
  await page.getByTestId('tab-playground').click();
  await page.getByTestId('playground-adapter').selectOption(tr.adapterId);
  await page.getByTestId('task-select').selectOption(trainTasks[1].id);
  // The earlier loop's panel still says "done" until the new run has started: wait for the new run's id.
  const live = page.getByTestId('live-run');
  const previousRunId = await live.getAttribute('data-run-id');
  await page.getByTestId('run-loop').click();
  await expect(live).not.toHaveAttribute('data-run-id', previousRunId ?? '', { timeout: 60_000 });
  await expect(live).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  const withAdapter = (await readRows<StepRow & { runId: string }>(page, 'steps')).filter((s) => !steps.some((x) => x.id === s.id));
  expect(withAdapter.length).toBeGreaterThan(0);
  expect(withAdapter.every((s) => s.adapterId === tr.adapterId && s.taskId === trainTasks[1].id)).toBe(true);

  // 8. Evaluate base vs adapter on the held-out split (checkers, direct and with self-refinement).
  await page.getByTestId('tab-evaluation').click();
  await page.getByTestId('eval-adapter').selectOption(tr.adapterId);
  await setNumber(page, 'eval-count', 3);
  await setNumber(page, 'eval-answer-tokens', 4);
  await setNumber(page, 'eval-feedback-tokens', 6);
  await page.getByTestId('start-eval').click();
  // 4 answer tokens cut every answer off: the run says so instead of reporting a plain success.
  await expect(page.getByTestId('eval-live')).toHaveAttribute('data-status', 'empty', { timeout: 90_000 });
  await expect(page.getByTestId('eval-empty')).toContainText('Every answer was cut off by the token limit (all 6 direct answers)');
  const evalRun = (await readRows<{ id: string; kind: string; status: string; metrics: { round: number; directAccuracy: number; refinedAccuracy: number; evalTasks: number; directCutOff: number }[] }>(page, 'runs')).find((r) => r.kind === 'eval')!;
  expect(evalRun.status).toBe('empty');
  expect(evalRun.metrics.map((m) => m.directCutOff)).toEqual([3, 3]);
  expect(evalRun.metrics.map((m) => [m.round, m.evalTasks])).toEqual([[0, 3], [1, 3]]);
  const evalSteps = (await readRows<StepRow & { score: number | null }>(page, 'steps')).filter((s) => s.runId === evalRun.id);
  const evaluations = evalSteps.filter((s) => s.kind === 'evaluation');
  expect(evaluations).toHaveLength(12);
  for (const [side, adapterId] of [['base', null], ['adapter', tr.adapterId]] as const) {
    const direct = evaluations.filter((s) => s.loopId.startsWith(`${evalRun.id}/eval-${side}-direct/`));
    expect(direct).toHaveLength(3);
    expect(direct.every((s) => s.adapterId === adapterId)).toBe(true);
    const point = evalRun.metrics.find((m) => m.round === (side === 'base' ? 0 : 1))!;
    expect(direct.filter((s) => s.score === 1).length / 3).toBeCloseTo(point.directAccuracy, 6);
  }
  await expect(page.getByTestId('eval-metrics-row')).toHaveCount(2);
  await page.getByTestId('eval-side-by-side').click();
  await expect(page.getByTestId('side-by-side').locator('tbody tr')).toHaveCount(3);
  await page.screenshot({ path: test.info().outputPath('pipeline-evaluation.png'), fullPage: true });
  expect(dialogs).toEqual([]);
});
