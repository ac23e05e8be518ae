/**
 * SRT from the SRT tab with the real tfjs worker, the tfjs model as its own critic (a second engine in the critic
 * slot), on tiny counts: the critic reviews and refines the actor's answers, SFT on feedback-then-refinement,
 * DPO on refined ≻ initial, evaluation of the start, SFT and DPO adapters — with every stored row checked.
 */
import { expect, test } from '@playwright/test';
import { createExperiment, openApp } from './helpers/app.ts';
import { readRows } from './playground-helpers.ts';
import { addToyTasks, loadTinyLlama, loadToy, setNumber, TOY_BUILT } from './pipeline-helpers.ts';

test('SRT with the tfjs model as its own critic: critic loops, SFT, DPO, evaluation, stored rows', async ({ page }) => {
  await openApp(page);
  const id = await createExperiment(page, 'SRT');
  await addToyTasks(page, id, 4, 2);

  await page.goto(`/#/experiments/${id}/srt`);
  await loadTinyLlama(page, 'actor');
  await page.getByTestId('use-critic').check();
  await loadTinyLlama(page, 'critic');
  await setNumber(page, 'srt-prompts', 4);
  await setNumber(page, 'srt-answer-tokens', 5);
  await setNumber(page, 'srt-feedback-tokens', 6);
  await setNumber(page, 'srt-eval-count', 2);
  await page.getByTestId('srt-require-improved').uncheck();
  await page.getByTestId('srt-sft-length').selectOption('steps');
  await setNumber(page, 'srt-sft-steps', 2);
  await setNumber(page, 'srt-sft-seqlen', 512);
  await page.getByTestId('srt-dpo-length').selectOption('steps');
  await setNumber(page, 'srt-dpo-steps', 2);
  await setNumber(page, 'srt-dpo-seqlen', 256);
  await page.getByTestId('start-srt').click();
  await expect(page.getByTestId('srt-progress')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('srt-live')).not.toHaveAttribute('data-status', 'running', { timeout: 120_000 });
  const failure = (await page.getByTestId('srt-error').count()) > 0 ? await page.getByTestId('srt-error').textContent() : null;
  expect(failure).toBeNull();
  await expect(page.getByTestId('srt-live')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('srt-progress-bar-label')).toContainText('100 %');

  const [run] = await readRows<{ id: string; kind: string; status: string; config: { actor: { modelId: string }; critic: { modelId: string } }; progress: { checkpoint: { phase: string; sftAdapterId: string; dpoAdapterId: string; metrics: Record<string, unknown> } }; metrics: Record<string, number>[] }>(page, 'runs');
  expect(run).toMatchObject({ kind: 'srt', status: 'done', config: { actor: { modelId: 'fixtures/tiny-llama' }, critic: { modelId: 'fixtures/tiny-llama' } } });
  const cp = run.progress.checkpoint;
  expect(cp.phase).toBe('done');
  expect(run.metrics).toHaveLength(1);
  const m = run.metrics[0];
  expect(m.loops).toBe(4);
  expect(m.kept).toBe(4);
  expect(m.sftRows).toBeGreaterThan(0);
  expect(m.preferencePairs).toBeGreaterThan(0);
  expect(Number.isFinite(m.sftLoss)).toBe(true);
  expect(Number.isFinite(m.dpoLoss)).toBe(true);
  for (const k of ['accuracyStart', 'accuracySft', 'accuracyDpo']) expect(m[k]).toBeGreaterThanOrEqual(0);

  const steps = await readRows<{ runId: string; loopId: string; kind: string; source: string; adapterId: string | null }>(page, 'steps');
  const collect = steps.filter((s) => s.loopId.startsWith(`${run.id}/collect/`));
  expect(new Set(collect.map((s) => s.loopId)).size).toBe(4);
  expect(collect.filter((s) => s.kind === 'draft').every((s) => s.source === 'self' && s.adapterId === null)).toBe(true);
  expect(collect.filter((s) => s.kind === 'feedback').every((s) => s.source === 'critic')).toBe(true);
  const evals = steps.filter((s) => s.kind === 'evaluation');
  expect(evals.filter((s) => s.loopId.startsWith(`${run.id}/eval-start/`))).toHaveLength(2);
  expect(evals.filter((s) => s.loopId.startsWith(`${run.id}/eval-sft/`)).every((s) => s.adapterId === cp.sftAdapterId)).toBe(true);
  expect(evals.filter((s) => s.loopId.startsWith(`${run.id}/eval-dpo/`)).every((s) => s.adapterId === cp.dpoAdapterId)).toBe(true);

  const training = await readRows<{ id: string; status: string; adapterId: string; config: { method: string; fromAdapterId: string | null; origin: { kind: string; runId: string } } }>(page, 'trainingRuns');
  expect(training.map((t) => t.config.method).sort()).toEqual(['dpo', 'sft']);
  const sft = training.find((t) => t.config.method === 'sft')!;
  const dpo = training.find((t) => t.config.method === 'dpo')!;
  expect(sft).toMatchObject({ status: 'done', adapterId: cp.sftAdapterId, config: { fromAdapterId: null, origin: { kind: 'srt', runId: run.id } } });
  expect(dpo).toMatchObject({ status: 'done', adapterId: cp.dpoAdapterId, config: { fromAdapterId: cp.sftAdapterId, origin: { kind: 'srt', runId: run.id } } });
  const adapters = await readRows<{ id: string; name: string }>(page, 'adapters');
  expect(adapters.map((a) => a.name).sort()).toEqual(['SRT DPO', 'SRT SFT']);
  await expect(page.getByTestId('srt-metrics')).toContainText('4 answers reviewed');
});

test('SRT on the toy model with the reference critic (the program annotator, labelled as such): every kept loop fixed, SFT, DPO', async ({ page }) => {
  test.skip(!TOY_BUILT, 'needs the built toy model (npm run toy:build)');
  await openApp(page);
  await page.getByTestId('create-toy-experiment').click();
  await expect(page.getByTestId('experiment-title')).toHaveText('Toy arithmetic (offline)');
  const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
  await page.goto(`/#/experiments/${id}/srt`);
  if (!(await page.getByTestId('actor-ready').isVisible())) await loadToy(page, 'actor');
  await page.getByTestId('use-critic').check();
  await page.getByTestId('critic-engine-kind').selectOption('reference');
  await expect(page.getByTestId('critic-reference-note')).toContainText('not a model');
  await page.getByTestId('critic-load').click();
  await expect(page.getByTestId('critic-ready')).toContainText('toy-reference-critic');
  await expect(page.getByTestId('srt-sft-shape')).toHaveValue('step-chats');
  await setNumber(page, 'srt-prompts', 12);
  await setNumber(page, 'srt-eval-count', 6);
  await page.getByTestId('srt-sft-length').selectOption('steps');
  await setNumber(page, 'srt-sft-steps', 2);
  await page.getByTestId('srt-dpo-length').selectOption('steps');
  await setNumber(page, 'srt-dpo-steps', 2);
  await page.getByTestId('start-srt').click();
  await expect(page.getByTestId('srt-live')).not.toHaveAttribute('data-status', 'running', { timeout: 240_000 });
  await expect(page.getByTestId('srt-live')).toHaveAttribute('data-status', 'done');

  const [run] = await readRows<{ id: string; config: { critic: { kind: string; modelId: string } }; metrics: Record<string, number>[] }>(page, 'runs');
  expect(run.config.critic).toMatchObject({ kind: 'reference', modelId: 'toy-reference-critic' });
  const steps = await readRows<{ loopId: string; kind: string; source: string; engine: string; text: string }>(page, 'steps');
  const critic = steps.filter((s) => s.loopId.startsWith(`${run.id}/collect/`) && s.source === 'critic');
  expect(critic.length).toBeGreaterThan(0);
  expect(critic.every((s) => s.engine === 'reference')).toBe(true);
  // Every kept loop was fixed by the critic: as many preference pairs as kept loops, and something to learn.
  const m = run.metrics[0];
  expect(m.kept).toBeGreaterThan(0);
  expect(m.preferencePairs).toBe(m.kept);
  expect(m.sftRows).toBe(3 * m.kept);
});
