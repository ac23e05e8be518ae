/**
 * SRT on a web-llm actor through the app, in Chromium, with WEB-LLM'S WEBGPU COMPUTE STOOD IN (the stand-in
 * worker of tests/e2e/webllm-standin: the app's web-llm host with MLCEngine replaced by our tfjs runtime on the
 * cached MLC files; see helpers/webllm-standin.ts). The actor is the SmolLM2 catalog entry on the web-llm
 * engine (the toy model's q4f32_1 export seeded at its record URL), the critic the toy model on tfjs (as the
 * toy defaults use it: its own critic). The answers are collected on web-llm; SFT and DPO train in the tfjs
 * worker from the same cached MLC files; after each the adapter is merged by the evolve worker into an evolved
 * model, and the evaluation runs the start on the catalog build, then switches web-llm to the SFT and the DPO
 * evolved models — all read from the cache scopes, nothing fetched from outside the origin.
 */
import { expect, test } from '@playwright/test';
import { modelLib, prepareStandIn, Q4, reloads, webllmActorExperiment, webllmLog, type MlcBuilds } from './helpers/webllm-standin.ts';
import { readRows } from './playground-helpers.ts';
import { loadToy, setNumber } from './pipeline-helpers.ts';

let mlc: MlcBuilds;

test.beforeAll(async () => {
  mlc = await prepareStandIn();
});

interface SrtRow {
  id: string;
  kind: string;
  status: string;
  config: { actor: { kind: string; modelId: string }; critic: { kind: string; modelId: string } };
  progress: { checkpoint: { phase: string; sftAdapterId: string; dpoAdapterId: string }; actorModels: Record<string, string> };
  metrics: Record<string, number>[];
}

test('SRT on a web-llm actor (web-llm compute stood in by tfjs): collects and evaluates on web-llm, trains SFT and DPO on tfjs from its cached files, and web-llm switches to each evolved model', async ({ page }) => {
  test.setTimeout(240_000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  const id = await webllmActorExperiment(page, mlc, 'SRT on web-llm', 'srt', 2, 1);
  await page.getByTestId('use-critic').check();
  await loadToy(page, 'critic');

  await setNumber(page, 'srt-prompts', 2);
  await setNumber(page, 'srt-answer-tokens', 6);
  await setNumber(page, 'srt-feedback-tokens', 8);
  await setNumber(page, 'srt-eval-count', 1);
  await page.getByTestId('srt-require-improved').uncheck(); // every reviewed loop trains: this test is about the wiring
  await page.getByTestId('srt-sft-length').selectOption('steps');
  await setNumber(page, 'srt-sft-steps', 2);
  await setNumber(page, 'srt-sft-seqlen', 256);
  await page.getByTestId('srt-dpo-length').selectOption('steps');
  await setNumber(page, 'srt-dpo-steps', 2);
  await setNumber(page, 'srt-dpo-seqlen', 256);
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { srtSeen: string[] }).srtSeen = seen;
    new MutationObserver(() => {
      const line = document.querySelector('[data-testid="srt-live"]')?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
      if (line && seen.at(-1) !== line) seen.push(line);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const logBefore = (await webllmLog(page)).length;
  await page.getByTestId('start-srt').click();
  await expect(page.getByTestId('srt-live')).not.toHaveAttribute('data-status', 'running', { timeout: 180_000 });
  const failure = (await page.getByTestId('srt-error').count()) > 0 ? await page.getByTestId('srt-error').textContent() : null;
  expect(failure).toBeNull();
  await expect(page.getByTestId('srt-live')).toHaveAttribute('data-status', 'done');

  // The stored run: the web-llm actor and the tfjs critic, every phase done, SFT and DPO trained, evaluated.
  const [run] = (await readRows<SrtRow>(page, 'runs')).filter((r) => r.kind === 'srt');
  expect(run).toMatchObject({ status: 'done', config: { actor: { kind: 'webllm', modelId: Q4 }, critic: { kind: 'tfjs' } } });
  const cp = run.progress.checkpoint;
  expect(cp.phase).toBe('done');
  expect(run.metrics).toHaveLength(1);
  const m = run.metrics[0];
  expect([m.loops, m.kept]).toEqual([2, 2]);
  expect(m.sftRows).toBeGreaterThan(0);
  expect(m.preferencePairs).toBeGreaterThan(0);
  for (const k of ['sftLoss', 'dpoLoss']) expect(Number.isFinite(m[k])).toBe(true);
  for (const k of ['accuracyStart', 'accuracySft', 'accuracyDpo']) expect(m[k]).toBeGreaterThanOrEqual(0);

  // Each stage's adapter became an evolved model of the catalog build (q4: requantized, its retention measured).
  const models = run.progress.actorModels;
  expect(models.start).toBe(Q4);
  for (const k of ['sft', 'dpo']) expect(models[k]).toMatch(new RegExp(`^${Q4}-evolved-[0-9a-z]+$`));
  expect(models.sft).not.toBe(models.dpo);
  for (const s of ['Sft', 'Dpo']) {
    expect(m[`mergeExact${s}`]).toBe(0);
    expect(typeof m[`logitsKept${s}`]).toBe('number');
  }

  // Collection and evaluation ran on web-llm: drafts on the catalog build, the critic's feedback on tfjs; the
  // evaluation of each adapter on its evolved model, to which the stand-in was switched (record at this origin,
  // on the catalog build's library).
  const steps = await readRows<{ loopId: string; kind: string; source: string; engine: string; adapterId: string | null }>(page, 'steps');
  const collect = steps.filter((s) => s.loopId.startsWith(`${run.id}/collect/`));
  expect(new Set(collect.map((s) => s.loopId)).size).toBe(2);
  const drafts = collect.filter((s) => s.kind === 'draft');
  expect(drafts.length).toBe(2);
  expect(drafts.every((s) => s.source === 'self' && s.engine === 'webllm' && s.adapterId === null)).toBe(true);
  expect(collect.filter((s) => s.kind === 'feedback').every((s) => s.source === 'critic' && s.engine === 'tfjs')).toBe(true);
  const evals = steps.filter((s) => s.kind === 'evaluation');
  for (const [stage, adapterId] of [['start', null], ['sft', cp.sftAdapterId], ['dpo', cp.dpoAdapterId]] as const) {
    const these = evals.filter((s) => s.loopId.startsWith(`${run.id}/eval-${stage}/`));
    expect(these.length).toBeGreaterThan(0);
    expect(these.every((s) => s.engine === 'webllm' && s.adapterId === adapterId)).toBe(true);
  }
  const origin = new URL(page.url()).origin;
  const loaded = await reloads(page);
  expect(loaded.map((r) => r.modelId)).toEqual([Q4, models.sft, models.dpo]);
  for (const r of loaded.slice(1)) expect(r).toEqual({ modelId: r.modelId, model: `${origin}/webllm-evolved/${r.modelId}/resolve/main/`, modelLib: modelLib(Q4) });
  const log = (await webllmLog(page)).slice(logBefore);
  expect(log.filter((e) => e.op === 'match' && e.url.startsWith(`${origin}/webllm-evolved/`) && e.url.endsWith('tensor-cache.json')).every((e) => e.hit)).toBe(true);
  for (const k of ['sft', 'dpo']) expect(log.filter((e) => e.op === 'match' && e.url.includes(models[k])).length).toBeGreaterThan(0);
  expect(log.filter((e) => e.op === 'fetch' && !new URL(e.url).pathname.startsWith('/assets/'))).toEqual([]);
  expect(log.filter((e) => e.op === 'add')).toEqual([]);

  // Training ran on tfjs from the web-llm build's files: both trainings stored, their adapters on the web-llm id
  // (the tfjs trainer loaded Q4 from web-llm's cache; no tfjs model is loaded in the actor slot), DPO from SFT.
  const training = await readRows<{ status: string; adapterId: string; config: { method: string; fromAdapterId: string | null; origin: { kind: string; runId: string } } }>(page, 'trainingRuns');
  const sft = training.find((t) => t.config.method === 'sft')!;
  const dpo = training.find((t) => t.config.method === 'dpo')!;
  expect(sft).toMatchObject({ status: 'done', adapterId: cp.sftAdapterId, config: { fromAdapterId: null, origin: { kind: 'srt', runId: run.id } } });
  expect(dpo).toMatchObject({ status: 'done', adapterId: cp.dpoAdapterId, config: { fromAdapterId: cp.sftAdapterId, origin: { kind: 'srt', runId: run.id } } });
  const adapters = await readRows<{ id: string; name: string; baseModelId: string }>(page, 'adapters');
  expect(adapters.map((a) => [a.name, a.baseModelId]).sort()).toEqual([['SRT DPO', Q4], ['SRT SFT', Q4]]);
  const trainingMetrics = await readRows<{ trainingRunId: string; loss: number }>(page, 'trainingMetrics');
  expect(trainingMetrics.length).toBeGreaterThanOrEqual(4);
  const seen = await page.evaluate(() => (window as unknown as { srtSeen: string[] }).srtSeen);
  for (const words of ['SFT step 1 of 2', 'merging the adapter into the web-llm model', 'DPO step 1 of 2', 'measuring how much of the adapter']) {
    expect(seen.some((s) => s.includes(words)), words).toBe(true);
  }

  // What a person sees: the run card names the models that generated, and both evolved models are listed in this
  // browser's registry (the Adapters tab), kept in the cache.
  await expect(page.getByTestId('srt-models')).toHaveText(new RegExp(`start ${Q4} · after SFT ${models.sft} \\(kept -?[0-9.]+ of the adapter\\) · after DPO ${models.dpo} \\(kept -?[0-9.]+ of the adapter\\)`));
  await expect(page.getByTestId('srt-metrics')).toContainText('2 answers reviewed');
  await page.goto(`/#/experiments/${id}/adapters`);
  const listed = page.getByTestId('evolved-model');
  await expect(listed).toHaveCount(2);
  expect((await listed.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).sort()).toEqual([models.sft, models.dpo].sort());
  const registered = await page.evaluate(async () => (await (await caches.open('studio/evolved-models')).keys()).map((r) => r.url));
  expect(registered).toHaveLength(2);
  for (const k of ['sft', 'dpo']) expect(registered.some((u) => u.includes(models[k]))).toBe(true);
});
