/**
 * The playground end to end with the REAL tfjs engine (runtime in workers/tfjs.worker.ts, wasm backend) on the
 * tiny-llama fixture served by the hub stand-in (http://localhost:4180): load with progress and the backend
 * named, one loop step by step, a reload in the middle, "interrupted", resume to the end, every stored row
 * checked with raw IndexedDB; then a batch run (chatBatch) with its progress bar and summary.
 * The fixture's weights are random, so its text is noise: the loop runs on it exactly as on a real model
 * (feedback that cannot be parsed is stored as such and the loop follows its rule).
 */
import { expect, test, type Page } from '@playwright/test';
import { createExperiment, openApp, recordDialogs } from './helpers/app.ts';
import { readRows, stepThroughToFeedback } from './playground-helpers.ts';
import { addToyTasks } from './pipeline-helpers.ts';
import { HUB } from './helpers/servers.ts';


interface StepRow {
  runId: string;
  taskId: string;
  loopId: string;
  kind: string;
  refineRound: number;
  evolutionRound: number;
  text: string;
  prompt: { role: string; content: string }[];
  engine: string;
  modelId: string;
  adapterId: string | null;
  parseStatus: string;
  feedback: unknown;
  seed: number | null;
  source: string;
  completionTokens: number;
}

async function loadTinyLlama(page: Page, backend: 'wasm' | 'auto'): Promise<void> {
  await page.getByTestId('actor-engine-kind').selectOption('tfjs');
  await page.getByTestId('actor-tfjs-from').selectOption('hub');
  await page.getByTestId('actor-repo').fill('fixtures/tiny-llama');
  await page.getByTestId('actor-hub').fill(HUB);
  await page.getByTestId('actor-backend').selectOption(backend);
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('fixtures/tiny-llama', { timeout: 60_000 });
  await expect(page.getByTestId('actor-detail')).toContainText('Backend: wasm');
}

async function setSettings(page: Page, maxTokens: number, maxRounds: number, oracle: 'off' | 'accompany' = 'off'): Promise<void> {
  await page.getByTestId('refine-settings').locator('summary').click();
  await page.getByTestId('set-max-tokens').fill(String(maxTokens));
  await page.getByTestId('set-max-rounds').fill(String(maxRounds));
  await page.getByTestId('set-oracle').selectOption(oracle);
  await page.getByTestId('save-refine-settings').click();
  await expect(page.getByTestId('notice-banner')).toContainText('Settings saved');
  await page.getByTestId('refine-settings').locator('summary').click();
}

test('tfjs: a loop step by step, reload in the middle, resume, every stored row checked', async ({ page }) => {
  const dialogs = recordDialogs(page);
  await openApp(page);
  const id = await createExperiment(page, 'tfjs playground');
  await page.goto(`/#/experiments/${id}/playground`);
  await loadTinyLlama(page, 'wasm');
  await setSettings(page, 8, 1);

  await page.getByTestId('pick-typed').check();
  await page.getByTestId('typed-prompt').fill('Say hello.');
  const gate = await stepThroughToFeedback(page);
  await expect(page.locator('[data-testid="step"][data-kind="draft"]')).toHaveCount(1);
  await page.getByTestId('next-step').click();
  await expect(gate).toHaveAttribute('data-kind', 'refinement');
  await expect(page.locator('[data-testid="step"][data-kind="feedback"]')).toHaveCount(1);

  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
  const run = page.getByTestId('playground-run').first();
  await expect(run).toHaveAttribute('data-status', 'interrupted');
  await expect(run).toContainText('2 steps saved');
  const before = await readRows<StepRow>(page, 'steps');
  expect(before.map((s) => s.kind)).toEqual(['draft', 'feedback']);

  // The choice was remembered: Load brings the same model back, then Resume continues the stored loop.
  await expect(page.getByTestId('actor-repo')).toHaveValue('fixtures/tiny-llama');
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toBeVisible({ timeout: 60_000 });
  await run.getByTestId('resume-run').click();
  await expect(gate).toHaveAttribute('data-kind', 'refinement');
  await page.getByTestId('run-to-end').click();
  const live = page.getByTestId('live-run');
  await expect(live).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('stop-reason')).toHaveText(/^Stopped: /);
  await expect(run).toHaveAttribute('data-status', 'done');
  await page.screenshot({ path: test.info().outputPath('tfjs-loop.png'), fullPage: true });

  const runs = await readRows<{ id: string; kind: string; status: string; config: { actor: { kind: string; modelId: string } } }>(page, 'runs');
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ kind: 'refine', status: 'done', config: { actor: { kind: 'tfjs', modelId: 'fixtures/tiny-llama' } } });
  const [task] = await readRows<{ id: string; prompt: string }>(page, 'tasks');
  const steps = await readRows<StepRow>(page, 'steps');
  // The first two rows are the ones stored before the reload, unchanged.
  expect(steps.slice(0, 2)).toEqual(before);
  const order = steps.map((s) => `${s.kind}@${s.refineRound}`);
  expect(order.slice(0, 3)).toEqual(['draft@0', 'feedback@0', 'refinement@1']);
  expect(['unchanged', 'max-rounds', 'feedback-unparsable', 'no-issues', 'score-threshold']).toContain(
    await page.getByTestId('stop-reason').getAttribute('data-reason'),
  );
  for (const s of steps) {
    expect(s).toMatchObject({ runId: runs[0].id, taskId: task.id, loopId: `${runs[0].id}/${task.id}`, engine: 'tfjs', modelId: 'fixtures/tiny-llama', adapterId: null, evolutionRound: 0, seed: 0, source: 'self' });
    expect(s.completionTokens).toBeLessThanOrEqual(8);
    expect(s.prompt.at(-1)?.role).toBe('user');
    if (s.kind === 'feedback') {
      expect(['ok', 'partial', 'unparsed']).toContain(s.parseStatus);
      expect(s.feedback === null).toBe(s.parseStatus === 'unparsed');
    } else {
      expect(s).toMatchObject({ parseStatus: 'n/a', feedback: null });
    }
  }
  expect(steps[0].prompt.at(-1)?.content).toBe('Say hello.');
  expect(steps[1].prompt.at(-1)?.content).toContain(steps[0].text.trim());
  expect(steps[2].prompt.at(-1)?.content).toContain('Attempt 1:');
  expect(dialogs).toEqual([]);
});

test('tfjs: a batch over toy tasks generates in batches, with the oracle alongside, a progress bar and a summary', async ({ page }) => {
  await openApp(page);
  const id = await createExperiment(page, 'tfjs batch');
  await addToyTasks(page, id, 4, 0);

  await page.goto(`/#/experiments/${id}/playground`);
  // Automatic backend: SwiftShader is a software adapter, so the engine says it uses wasm, and why.
  await loadTinyLlama(page, 'auto');
  await expect(page.getByTestId('actor-detail')).toContainText(/software|fallback|hardware/i);
  await setSettings(page, 6, 0, 'accompany');
  await page.getByTestId('batch-limit').fill('4');
  await page.getByTestId('run-batch').click();
  const live = page.getByTestId('live-run');
  await expect(page.getByTestId('batch-progress')).toBeVisible();
  await expect(live).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  await expect(page.getByTestId('batch-progress-label')).toContainText('4 of 4 tasks done');
  await expect(page.getByTestId('summary-loops')).toHaveText('4 of 4 tasks');
  await expect(page.getByTestId('summary-accuracy')).toContainText('→ 0 of 4 final answers');
  const steps = await readRows<StepRow>(page, 'steps');
  expect(steps.map((s) => s.kind).sort()).toEqual([...Array(4).fill('draft'), ...Array(4).fill('feedback'), ...Array(4).fill('oracle')]);
  // The oracle is the program's checker, clearly labelled as such in every row.
  for (const o of steps.filter((s) => s.kind === 'oracle')) {
    expect(o).toMatchObject({ engine: 'oracle', source: 'oracle', modelId: 'checker', prompt: [], parseStatus: 'ok' });
    expect(o.text).toMatch(/^Automatic check \(by the program, not a model\): (PASS|FAIL)\./);
  }
  const drafts = steps.filter((s) => s.kind === 'draft') as (StepRow & { startedAt: number; durationMs: number })[];
  expect(new Set(drafts.map((s) => s.prompt.at(-1)?.content)).size).toBe(4);
  // Generated together by chatBatch: the four drafts share one call's start time and duration.
  expect(new Set(drafts.map((s) => `${s.startedAt}/${s.durationMs}`)).size).toBe(1);
  const runs = await readRows<{ kind: string; status: string; progress: unknown }>(page, 'runs');
  expect(runs).toEqual([expect.objectContaining({ kind: 'batch', status: 'done', progress: { done: 4, total: 4 } })]);

  // Read back from storage: each loop with its stop reason, the oracle's check labelled as the program's.
  await page.getByTestId('playground-run').first().getByTestId('open-run').click();
  await expect(page.getByTestId('replay-loop')).toHaveCount(4);
  const loop = page.getByTestId('replay-loop').first();
  await loop.locator('> summary').click();
  await expect(loop.locator('[data-testid="step"][data-kind="oracle"]')).toContainText('Automatic check (the program, not a model)');
  await expect(loop.getByTestId('stop-reason')).toHaveText(/^Stopped: The (round limit was reached|automatic check passed)\.$/);
});
