/**
 * One trainer per origin, in real Chromium with two tabs of one browser profile: Train pressed in both at
 * once trains in one tab; the other says which run holds the trainer, writes nothing, and on "Wait for it"
 * trains after it. Run SELF is refused the same way while a training run holds the trainer. Two tabs that
 * resume the same interrupted run at once: exactly one resumes it, the other says it is being resumed.
 */
import { expect, test, type Page } from '@playwright/test';
import { readRows } from './playground-helpers.ts';
import { loadToy, setNumber } from './pipeline-helpers.ts';
import { toyWithSamples } from './checkpoint-helpers.ts';

interface TrainingRunRow {
  id: string;
  status: string;
  startedAt: number;
  finishedAt: number | null;
}

async function secondTab(page: Page): Promise<Page> {
  const other = await page.context().newPage();
  await other.goto(page.url());
  await expect(other.locator('main')).toHaveAttribute('data-phase', 'ready');
  return other;
}

async function steps(p: Page, n: number): Promise<void> {
  await p.getByTestId('train-length').selectOption('steps');
  await setNumber(p, 'train-steps', n);
}

test('two tabs press Train at once: one trains, the other names the holder, waits, then trains; SELF is refused too', async ({ page }) => {
  test.setTimeout(600_000);
  await toyWithSamples(page, 32);
  const other = await secondTab(page);
  await loadToy(other);
  for (const p of [page, other]) await steps(p, 16);

  await Promise.all([page.getByTestId('start-training').click(), other.getByTestId('start-training').click()]);
  const busy = [page, other].map((p) => p.getByTestId('trainer-busy'));
  await expect.poll(async () => (await busy[0].count()) + (await busy[1].count()), { timeout: 30_000 }).toBe(1);
  const [first, second] = (await busy[0].count()) === 1 ? [other, page] : [page, other];
  await expect(first.getByTestId('training-live')).toHaveAttribute('data-status', 'running');
  await expect(second.getByTestId('trainer-busy')).toContainText('The trainer is busy: a training run (“My adapter”) of this experiment is running in another tab.');
  await expect(second.getByTestId('training-live')).toHaveCount(0);
  const during = await readRows<TrainingRunRow>(page, 'trainingRuns');
  expect(during.map((r) => r.status)).toEqual(['running']);
  console.log('two tabs pressed Train:', await second.getByTestId('trainer-busy').textContent());

  // The second tab waits: it starts once the first run has finished, never alongside it.
  await second.getByTestId('trainer-wait').click();
  await expect(second.getByTestId('trainer-waiting')).toContainText('Waiting for the trainer: a training run (“My adapter”) of this experiment is running in another tab');
  await expect(first.getByTestId('training-live')).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
  await expect(second.getByTestId('training-live')).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
  const runs = (await readRows<TrainingRunRow>(page, 'trainingRuns')).sort((a, b) => a.startedAt - b.startedAt);
  expect(runs.map((r) => r.status)).toEqual(['done', 'done']);
  expect(runs[1].startedAt).toBeGreaterThanOrEqual(runs[0].finishedAt!);
  expect(await readRows(page, 'adapters')).toHaveLength(2);
  const metrics = await readRows<{ trainingRunId: string; step: number }>(page, 'trainingMetrics');
  for (const r of runs) expect(metrics.filter((m) => m.trainingRunId === r.id).map((m) => m.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));

  // A SELF run in the other tab while this one trains: refused, nothing written.
  await steps(first, 400);
  await first.getByTestId('start-training').click();
  await expect(first.getByTestId('training-live')).toHaveAttribute('data-status', 'running');
  await second.getByTestId('tab-self').click();
  await second.getByTestId('start-self').click();
  await expect(second.getByTestId('trainer-busy')).toContainText('The trainer is busy: a training run (“My adapter”) of this experiment is running in another tab.');
  expect((await readRows<{ kind: string }>(page, 'runs')).filter((r) => r.kind === 'self')).toEqual([]);
  await first.getByTestId('stop-training').click();
  await expect(first.getByTestId('training-live')).toHaveAttribute('data-status', 'aborted', { timeout: 60_000 });
});

test('two tabs resume the same interrupted run at once: exactly one resumes it', async ({ page }) => {
  test.setTimeout(600_000);
  await toyWithSamples(page, 32);
  await steps(page, 20);
  await setNumber(page, 'train-checkpoint', 2);
  await page.getByTestId('start-training').click();
  await expect(page.getByTestId('live-checkpoint')).toHaveText(/^step \d+$/, { timeout: 120_000 });
  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
  const other = await secondTab(page);
  const offers = [page, other].map((p) => p.getByTestId('resume-offer-button'));
  for (const o of offers) await expect(o).toBeVisible();

  await Promise.all(offers.map((o) => o.click()));
  const busy = [page, other].map((p) => p.getByTestId('trainer-busy'));
  await expect.poll(async () => (await busy[0].count()) + (await busy[1].count()), { timeout: 30_000 }).toBe(1);
  const [winner, loser] = (await busy[0].count()) === 1 ? [other, page] : [page, other];
  await expect(loser.getByTestId('trainer-busy')).toContainText('This run is already being resumed in another tab; it is not started a second time.');
  await expect(loser.getByTestId('trainer-wait')).toHaveCount(0);
  console.log('two tabs pressed Resume:', await loser.getByTestId('trainer-busy').textContent());
  await expect(winner.getByTestId('training-live')).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
  await expect(loser.getByTestId('resume-offer')).toHaveCount(0);
  await expect(loser.getByTestId('training-live')).toHaveCount(0);

  const runs = await readRows<TrainingRunRow>(page, 'trainingRuns');
  expect(runs.map((r) => r.status)).toEqual(['done']);
  const metrics = await readRows<{ step: number }>(page, 'trainingMetrics');
  expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  expect(await readRows(page, 'adapters')).toHaveLength(1);
});
