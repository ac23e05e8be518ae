/**
 * LoRA training in the real tfjs worker in Chromium (workers/tfjs.worker.ts, driven by the page-side
 * TfjsWorkerEngine/TfjsWorkerTrainer in the runtime harness): load a fixture model from the hub stand-in,
 * train a few steps with a pause and a resume, get the adapter files back, generate with the adapter in the
 * same worker, re-add the stored files as the app would after a reload, abort a run. The worker runs every core
 * (tfjs-wasm's threaded build, our kernels and their helper threads) under the app's own CSP. Then the backend choice:
 * `auto` takes wasm on SwiftShader (a software adapter), and an explicit `webgpu` works (chat and one step).
 */
import { expect, test, type Page } from '@playwright/test';
import { HUB, openRuntimeHarness } from './helpers/servers.ts';


test.describe.configure({ mode: 'serial' });

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await openRuntimeHarness(page);
});
test.afterAll(async () => {
  await page.evaluate(() => {
    window.tfjsHarness.close('w');
    window.tfjsHarness.close('gpu');
  });
  await page.close();
});

const ROWS = Array.from({ length: 6 }, (_, i) => ({
  messages: [
    { role: 'user' as const, content: `question ${i}` },
    { role: 'assistant' as const, content: `the answer is ${i * 3}` },
  ],
}));
const ASK = [{ role: 'user' as const, content: 'question 2' }];

test('auto picks wasm on a software WebGPU adapter and says why; the model loads in the worker', async () => {
  const opened = await page.evaluate((hub) => window.tfjsHarness.open('w', { backend: 'auto', hub, repo: 'fixtures/tiny-llama' }), HUB);
  expect(opened.backend?.backend).toBe('wasm');
  expect(opened.backend?.reason).toMatch(/software|no WebGPU/);
  // Every core, under the app's own CSP (the harness sends the app's headers), and our kernels in the worker.
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const n = Math.min(cores, 8);
  expect(opened.backend?.threads).toBe(n);
  expect(opened.backend?.threadReason).toBe(n === 1 ? '1 thread: this machine has 1 core' : `${n} threads: every core (${cores} cores)`);
  expect(opened.backend?.kernels).toBe(`loaded (${n} thread${n === 1 ? '' : 's'})`);
  expect(opened.modelId).toBe('fixtures/tiny-llama');
  expect(opened.phases).toEqual(expect.arrayContaining(['backend', 'weights']));
});

test('trains in the worker with pause and resume, returns the files, and generates with the adapter', async () => {
  const STEPS = 24;
  await page.evaluate(
    ({ rows, steps }) =>
      window.tfjsHarness.startTraining('w', { method: 'sft', rows, adapterId: 'a1', pauseAtStep: 2, config: { steps, batchSize: 3, lr: 1e-2, checkpointEvery: 12, seed: 5 } }),
    { rows: ROWS, steps: STEPS },
  );
  // The page asks for a pause when step 2 is reported; the worker stops before its next step starts, and no
  // step is reported while paused.
  await expect.poll(() => page.evaluate(() => window.tfjsHarness.events('w').some((e) => e.kind === 'status' && e.status === 'paused'))).toBe(true);
  const stepsWhenPaused = await page.evaluate(() => window.tfjsHarness.events('w').filter((e) => e.kind === 'step').length);
  expect(stepsWhenPaused).toBeGreaterThanOrEqual(2);
  expect(stepsWhenPaused).toBeLessThan(STEPS);
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => window.tfjsHarness.events('w').filter((e) => e.kind === 'step').length)).toBe(stepsWhenPaused);
  expect(await page.evaluate(() => window.tfjsHarness.resume('w'))).toBe(false);

  const done = await page.evaluate(() => window.tfjsHarness.waitTraining('w'));
  expect(done).toMatchObject({ ok: true, adapterId: 'a1', metrics: { steps: STEPS, examples: 6, truncated: 0 } });
  const events = await page.evaluate(() => window.tfjsHarness.events('w'));
  const steps = events.filter((e) => e.kind === 'step');
  expect(steps.map((s) => s.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  expect(steps[STEPS - 1].kind === 'step' && steps[0].kind === 'step' && steps[STEPS - 1].loss < steps[0].loss).toBe(true);
  expect(events.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && e.status)).toEqual(['preparing', 'running', 'paused', 'running']);
  const checkpoints = events.filter((e) => e.kind === 'checkpoint');
  expect(checkpoints.map((c) => c.step)).toEqual([12, 24]);
  expect(Object.keys(checkpoints[0].kind === 'checkpoint' ? checkpoints[0].files : {}).sort()).toEqual([
    'adapter_config.json',
    'adapter_model.safetensors',
    'optimizer.safetensors',
    'trainer_state.json',
  ]);

  const stored = await page.evaluate(() => window.tfjsHarness.storedFiles('w', 'a1'));
  expect(stored?.config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'fixtures/tiny-llama' });
  expect(stored?.safetensors).toBeGreaterThan(1000);
  expect(stored?.gguf).toBeGreaterThan(1000);

  const base = await page.evaluate((m) => window.tfjsHarness.chat('w', m, { maxTokens: 10 }), ASK);
  const tuned = await page.evaluate((m) => window.tfjsHarness.chat('w', m, { maxTokens: 10, adapterId: 'a1' }), ASK);
  expect('text' in tuned && 'text' in base && tuned.text !== base.text).toBe(true);
  // The stored files, added again under a new id (as after a page reload), generate the same reply.
  await page.evaluate(() => window.tfjsHarness.readdStored('w', 'a1', 'a1-copy'));
  const copy = await page.evaluate((m) => window.tfjsHarness.chat('w', m, { maxTokens: 10, adapterId: 'a1-copy' }), ASK);
  expect('text' in copy && 'text' in tuned && copy.text === tuned.text).toBe(true);
});

test('an aborted run stops in the worker, makes no adapter, and the worker keeps serving', async () => {
  await page.evaluate((rows) => window.tfjsHarness.startTraining('w', { method: 'sft', rows, adapterId: 'gone', config: { steps: 500, batchSize: 2 } }), ROWS);
  await expect.poll(() => page.evaluate(() => window.tfjsHarness.events('w').filter((e) => e.kind === 'step').length)).toBeGreaterThanOrEqual(1);
  await page.evaluate(() => window.tfjsHarness.abort('w'));
  expect(await page.evaluate(() => window.tfjsHarness.waitTraining('w'))).toMatchObject({ ok: false, error: { code: 'aborted' } });
  const missing = await page.evaluate((m) => window.tfjsHarness.chat('w', m, { adapterId: 'gone' }), ASK);
  expect(missing).toMatchObject({ error: { code: 'not-found' } });
  const after = await page.evaluate((m) => window.tfjsHarness.chat('w', m, { maxTokens: 3 }), ASK);
  expect('usage' in after && after.usage.completionTokens).toBe(3);
});

test('8-bit weights in the worker: their error against F32 comes with the load, chat works, training is refused', async () => {
  const opened = await page.evaluate((hub) => window.tfjsHarness.open('q8', { backend: 'wasm', hub, repo: 'fixtures/tiny-llama', weightFormat: 'int8' }), HUB);
  try {
    expect(opened.model?.weightFormat).toBe('int8');
    const e = opened.model!.formatError!;
    expect(e.positions).toBeGreaterThan(1);
    expect(e.maxLogit).toBeGreaterThan(0);
    expect(e.maxLogit).toBeLessThan(0.06 * e.logitScale);
    const reply = await page.evaluate((m) => window.tfjsHarness.chat('q8', m, { maxTokens: 4 }), ASK);
    expect('usage' in reply && reply.usage.completionTokens).toBe(4);
    await page.evaluate((rows) => window.tfjsHarness.startTraining('q8', { method: 'sft', rows, adapterId: 'no', config: { steps: 2, batchSize: 2 } }), ROWS);
    expect(await page.evaluate(() => window.tfjsHarness.waitTraining('q8'))).toMatchObject({ ok: false, error: { code: 'unsupported', message: expect.stringMatching(/8-bit format/) } });
  } finally {
    await page.evaluate(() => window.tfjsHarness.close('q8'));
  }
});

test('packed F32 weights in the worker: the same logits within 1e-4 (its error comes with the load), chat works, training is refused', async () => {
  const opened = await page.evaluate((hub) => window.tfjsHarness.open('packed', { backend: 'wasm', hub, repo: 'fixtures/tiny-llama', weightFormat: 'f32-packed' }), HUB);
  try {
    expect(opened.model?.weightFormat).toBe('f32-packed');
    const e = opened.model!.formatError!;
    expect(e).toMatchObject({ format: 'f32-packed', tokensChanged: 0 });
    expect(e.maxLogit).toBeLessThan(1e-4);
    const reply = await page.evaluate((m) => window.tfjsHarness.chat('packed', m, { maxTokens: 4 }), ASK);
    expect('usage' in reply && reply.usage.completionTokens).toBe(4);
    await page.evaluate((rows) => window.tfjsHarness.startTraining('packed', { method: 'sft', rows, adapterId: 'no', config: { steps: 2, batchSize: 2 } }), ROWS);
    expect(await page.evaluate(() => window.tfjsHarness.waitTraining('packed'))).toMatchObject({ ok: false, error: { code: 'unsupported', message: expect.stringMatching(/packed F32 format/) } });
  } finally {
    await page.evaluate(() => window.tfjsHarness.close('packed'));
  }
});

test('an explicit webgpu request runs on SwiftShader: same greedy reply as wasm, and a training step', async () => {
  const opened = await page.evaluate((hub) => window.tfjsHarness.open('gpu', { backend: 'webgpu', hub, repo: 'fixtures/tiny-llama' }), HUB);
  expect(opened.backend?.backend).toBe('webgpu');
  expect(opened.backend?.reason).toMatch(/webgpu as asked.*software adapter/);
  const gpuReply = await page.evaluate((m) => window.tfjsHarness.chat('gpu', m, { maxTokens: 8 }), ASK);
  const wasmReply = await page.evaluate((m) => window.tfjsHarness.chat('w', m, { maxTokens: 8 }), ASK);
  expect('text' in gpuReply && 'text' in wasmReply && gpuReply.text === wasmReply.text).toBe(true);
  await page.evaluate((rows) => window.tfjsHarness.startTraining('gpu', { method: 'sft', rows, adapterId: 'g1', config: { steps: 2, batchSize: 3, lr: 1e-2 } }), ROWS);
  expect(await page.evaluate(() => window.tfjsHarness.waitTraining('gpu'))).toMatchObject({ ok: true, metrics: { steps: 2 } });
  const tuned = await page.evaluate((m) => window.tfjsHarness.chat('gpu', m, { maxTokens: 4, adapterId: 'g1' }), ASK);
  expect('usage' in tuned && tuned.usage.completionTokens).toBeGreaterThan(0);
});
