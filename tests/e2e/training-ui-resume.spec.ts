/**
 * The Training tab with the real tfjs worker: a run with checkpoints, paused, the page reloaded in the middle
 * (the run shows as interrupted), then resumed from its last checkpoint to the end — the loss curve complete
 * and in order, the adapter stored once, the checkpoint removed.
 */
import { expect, test } from '@playwright/test';
import { createExperiment, openApp } from './helpers/app.ts';
import { readRows } from './playground-helpers.ts';
import { addToyTasks, loadTinyLlama, setNumber } from './pipeline-helpers.ts';

test('training: pause, reload in the middle, resume from the last checkpoint to the end', async ({ page }) => {
  await openApp(page);
  const id = await createExperiment(page, 'Training resume');
  await addToyTasks(page, id, 3, 0);

  // Samples to train on: a batch of drafts, collected as SFT samples.
  await page.goto(`/#/experiments/${id}/playground`);
  await loadTinyLlama(page);
  await page.getByTestId('refine-settings').locator('summary').click();
  await page.getByTestId('set-max-tokens').fill('6');
  await page.getByTestId('set-max-rounds').fill('0');
  await page.getByTestId('save-refine-settings').click();
  await expect(page.getByTestId('notice-banner')).toContainText('Settings saved');
  await page.getByTestId('batch-limit').fill('3');
  await page.getByTestId('run-batch').click();
  await expect(page.getByTestId('batch-progress-label')).toContainText('3 of 3 tasks done', { timeout: 60_000 });
  await page.getByTestId('tab-samples').click();
  await page.getByTestId('collect-run').first().check();
  // No feedback ran (0 rounds), so no loop has the model's own "correct" verdict that Collect keeps by default.
  await page.getByTestId('filter-verdict').uncheck();
  await page.getByTestId('collect-samples').click();
  await expect(page.getByTestId('sample-summary')).toContainText('3 included');

  const STEPS = 120;
  await page.getByTestId('tab-training').click();
  await page.getByTestId('train-name').fill('resumed adapter');
  await page.getByTestId('train-length').selectOption('steps');
  await setNumber(page, 'train-steps', STEPS);
  await setNumber(page, 'train-batch', 2);
  await setNumber(page, 'train-seqlen', 64);
  await setNumber(page, 'train-checkpoint', 5);
  await setNumber(page, 'train-checkpoint-seconds', 0); // steps only: the checks below count in fives
  await page.getByTestId('start-training').click();
  await expect(page.getByTestId('live-checkpoint')).toHaveText(/^step \d+$/, { timeout: 60_000 });
  await page.getByTestId('pause-training').click();
  await expect(page.getByTestId('training-progress-label')).toContainText('Paused');
  const pausedAt = Number(/step (\d+) of/.exec((await page.getByTestId('training-progress-label').textContent()) ?? '')?.[1]);
  expect(pausedAt).toBeGreaterThanOrEqual(5);
  expect(pausedAt).toBeLessThan(STEPS);
  const [running] = await readRows<{ id: string; status: string }>(page, 'trainingRuns');
  expect(running.status).toBe('running');

  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
  const item = page.getByTestId('training-run');
  await expect(item).toHaveAttribute('data-status', 'interrupted');
  const [interrupted] = await readRows<{ id: string; status: string; error: string }>(page, 'trainingRuns');
  expect(interrupted).toMatchObject({ id: running.id, status: 'interrupted' });
  const resumeButton = item.getByTestId('resume-training');
  await expect(resumeButton).toHaveText(new RegExp(`^Resume from step \\d+ of ${STEPS}$`));
  const fromStep = Number(/step (\d+) of/.exec((await resumeButton.textContent()) ?? '')?.[1]);
  expect(fromStep % 5).toBe(0);
  expect(fromStep).toBeLessThanOrEqual(pausedAt);
  expect(await readRows(page, 'adapters')).toEqual([]);

  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toBeVisible({ timeout: 60_000 });
  await resumeButton.click();
  await expect(page.getByTestId('training-live')).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(item).toHaveAttribute('data-status', 'done');

  const [done] = await readRows<{ id: string; status: string; adapterId: string }>(page, 'trainingRuns');
  expect(done).toMatchObject({ id: running.id, status: 'done' });
  const metrics = await readRows<{ trainingRunId: string; step: number; point: { loss: number } }>(page, 'trainingMetrics');
  expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  expect(metrics.every((m) => m.trainingRunId === running.id && Number.isFinite(m.point.loss))).toBe(true);
  const adapters = await readRows<{ id: string; name: string; trainingRunId: string }>(page, 'adapters');
  expect(adapters).toEqual([expect.objectContaining({ id: done.adapterId, name: 'resumed adapter', trainingRunId: running.id })]);
  // The run's checkpoint is gone once it finished.
  const left = await page.evaluate(async (runId) => {
    const root = await navigator.storage.getDirectory();
    try {
      const dir = await root.getDirectoryHandle('checkpoints');
      await dir.getDirectoryHandle(runId);
      return true;
    } catch {
      return false;
    }
  }, running.id);
  expect(left).toBe(false);
});
