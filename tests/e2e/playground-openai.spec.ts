/**
 * The playground UI end to end with the OpenAI-compatible engine against a local test server (a stand-in for
 * the network): engine setup with the endpoint kept in this browser, a typed prompt, step-through, a reload in
 * the middle, "interrupted", resume, the finished loop with diffs and its stop reason, every stored row, and a
 * batch run with its progress bar and summary (the figures that exist for open-ended tasks, named in words).
 */
import { expect, test } from '@playwright/test';
import { createExperiment, openApp, recordDialogs } from './helpers/app.ts';
import { readRows, startOpenAIDouble, type OpenAIDouble } from './playground-helpers.ts';

let server: OpenAIDouble;
test.beforeAll(async () => {
  server = await startOpenAIDouble();
});
test.afterAll(async () => {
  await server.close();
});

interface StepRow {
  runId: string;
  kind: string;
  refineRound: number;
  text: string;
  prompt: { role: string; content: string }[];
  engine: string;
  modelId: string;
  parseStatus: string;
  score: number | null;
  source: string;
  loopId: string;
  taskId: string;
}

test('a loop over a typed prompt, step by step, survives a reload and resumes to the end', async ({ page }) => {
  const dialogs = recordDialogs(page);
  await openApp(page);
  const id = await createExperiment(page, 'Playground via endpoint');
  await page.goto(`/#/experiments/${id}/playground`);

  // Engine: the OpenAI-compatible endpoint, saved in this browser only.
  await page.getByTestId('actor-engine-kind').selectOption('openai');
  await page.getByTestId('actor-endpoint-url').fill(server.url);
  await page.getByTestId('actor-endpoint-model').fill('double-1');
  await page.getByTestId('actor-endpoint-key').fill('sk-test-SECRET');
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await expect(page.getByTestId('notice-banner')).toContainText('Endpoint saved');
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('double-1');

  // A typed prompt, step-through on.
  await page.getByTestId('pick-typed').check();
  await page.getByTestId('typed-prompt').fill('What is Paris? <b>bold</b>');
  await page.getByTestId('step-through').check();
  await page.getByTestId('run-loop').click();
  const gate = page.getByTestId('gate');
  await expect(gate).toHaveAttribute('data-kind', 'draft');
  await expect(gate.getByTestId('gate-message').last()).toHaveText('What is Paris? <b>bold</b>');
  expect(server.requests).toHaveLength(0);
  await page.getByTestId('next-step').click();
  await expect(gate).toHaveAttribute('data-kind', 'feedback');
  await expect(page.locator('[data-testid="step"][data-kind="draft"]')).toContainText('Paris is a city.');
  await page.getByTestId('next-step').click();
  await expect(gate).toHaveAttribute('data-kind', 'refinement');
  await expect(page.locator('[data-testid="step"][data-kind="feedback"]').first()).toContainText('score 5/10 · incorrect');

  // Reload in the middle: the run shows as interrupted with its two stored steps.
  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
  const run = page.getByTestId('playground-run').first();
  await expect(run).toHaveAttribute('data-status', 'interrupted');
  await expect(run).toContainText('2 steps saved');

  // Load the same model again, then resume: the loop continues from the last stored step.
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toBeVisible();
  await run.getByTestId('resume-run').click();
  await expect(gate).toHaveAttribute('data-kind', 'refinement');
  await page.getByTestId('run-to-end').click();
  const live = page.getByTestId('live-run');
  await expect(live).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('stop-reason')).toHaveAttribute('data-reason', 'no-issues');
  await expect(page.getByTestId('stop-reason')).toHaveText('Stopped: The feedback found nothing to fix.');
  await expect(live.getByTestId('diff').first().locator('ins')).not.toHaveCount(0);
  const lastDiff = live.getByTestId('diff').last();
  await expect(lastDiff.locator('del')).toHaveText(['a big city in']);
  await expect(lastDiff.locator('ins')).toHaveText(['the capital of']);
  await page.screenshot({ path: test.info().outputPath('playground-loop.png'), fullPage: true });
  await expect(run).toHaveAttribute('data-status', 'done');

  // Every stored row: one run, six steps in order, each with its prompt, text and engine/model.
  const runs = await readRows<{ id: string; status: string; kind: string; config: Record<string, unknown> }>(page, 'runs');
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ status: 'done', kind: 'refine' });
  expect(JSON.stringify(runs[0].config)).not.toContain('SECRET');
  const tasks = await readRows<{ id: string; prompt: string; taskSetId: string; kind: string }>(page, 'tasks');
  expect(tasks).toEqual([expect.objectContaining({ prompt: 'What is Paris? <b>bold</b>', taskSetId: 'custom', kind: 'open' })]);
  const steps = (await readRows<StepRow>(page, 'steps')).sort((a, b) => (a.loopId === b.loopId ? 0 : 1));
  expect(steps.map((s) => `${s.kind}@${s.refineRound}`)).toEqual(['draft@0', 'feedback@0', 'refinement@1', 'feedback@1', 'refinement@2', 'feedback@2']);
  const texts = ['Paris is a city.', null, 'Paris is a big city in France.', null, 'Paris is the capital of France.', null];
  steps.forEach((s, i) => {
    expect(s).toMatchObject({ runId: runs[0].id, taskId: tasks[0].id, loopId: `${runs[0].id}/${tasks[0].id}`, engine: 'openai', modelId: 'double-1', source: 'self' });
    if (texts[i]) expect(s.text).toBe(texts[i]);
    expect(s.prompt).toEqual(server.requests[i].messages);
  });
  expect(steps.filter((s) => s.kind === 'feedback').map((s) => [s.parseStatus, s.score])).toEqual([['ok', 5], ['ok', 5], ['ok', 9]]);
  expect(steps[4].prompt[1].content).toContain('Attempt 2:\nParis is a big city in France.');

  // The stored run reads back the same from storage.
  await run.getByTestId('open-run').click();
  await expect(page.getByTestId('run-replay').getByTestId('stop-reason')).toHaveAttribute('data-reason', 'no-issues');
  await expect(page.getByTestId('run-replay').locator('[data-testid="step"]')).toHaveCount(6);
  expect(dialogs).toEqual([]);
});

test('a batch over a task set shows progress and a summary; Stop leaves it resumable', async ({ page }) => {
  await openApp(page);
  const id = await createExperiment(page, 'Batch via endpoint');
  await page.goto(`/#/experiments/${id}/tasks`);
  await page.getByTestId('task-set-choice').selectOption('open');
  await page.getByTestId('add-task-set').click();
  await expect(page.getByTestId('task-count')).toHaveText(/^[1-9]\d* in total$/);

  await page.goto(`/#/experiments/${id}/playground`);
  await page.getByTestId('actor-engine-kind').selectOption('openai');
  await page.getByTestId('actor-endpoint-url').fill(server.url);
  await page.getByTestId('actor-endpoint-model').fill('double-1');
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toBeVisible();

  await page.getByTestId('batch-limit').fill('3');
  await page.getByTestId('run-batch').click();
  const live = page.getByTestId('live-run');
  await expect(page.getByTestId('batch-progress-label')).toContainText('of 3 tasks done');
  await expect(live).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('batch-progress-label')).toContainText('3 of 3 tasks done');
  await expect(page.getByTestId('summary-loops')).toHaveText('3 of 3 tasks');
  await expect(page.getByTestId('summary-improved')).toContainText('3');
  // Open-ended tasks with scored feedback: the figures that exist, in words (no checker figure, no dashes).
  const summary = live.getByTestId('batch-summary');
  await expect(summary.locator('dt')).toHaveText(['Loops run', 'Answers that changed after feedback', 'Mean feedback score', 'Right by the checker']);
  await expect(summary.getByTestId('summary-improved')).toHaveText('3; of those, scored higher by their feedback: 3');
  await expect(summary.getByTestId('summary-score')).toHaveText(/^\d+\.\d on first answers → \d+\.\d on final answers$/);
  await expect(summary.getByTestId('summary-accuracy')).toHaveCount(0);
  await expect(summary).toContainText('No task in this batch can be checked in code.');
  expect(await summary.textContent()).not.toMatch(/—|--/);
  const runs = await readRows<{ kind: string; status: string; progress: unknown }>(page, 'runs');
  expect(runs).toEqual([expect.objectContaining({ kind: 'batch', status: 'done', progress: { done: 3, total: 3 } })]);
  expect(await readRows(page, 'steps')).toHaveLength(18);

  // A second batch, stopped early, can be resumed to the end.
  await page.getByTestId('batch-limit').fill('2');
  await page.getByTestId('run-batch').click();
  await expect(page.getByTestId('stop-run')).toBeVisible();
  await page.getByTestId('stop-run').click();
  await expect(live).toHaveAttribute('data-status', 'aborted');
  const stopped = page.locator('[data-testid="playground-run"][data-status="aborted"]');
  await stopped.getByTestId('resume-run').click();
  await expect(live).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('batch-progress-label')).toContainText('2 of 2 tasks done');
  expect(await readRows(page, 'steps')).toHaveLength(18 + 12);
});
