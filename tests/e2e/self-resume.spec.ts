/**
 * A SELF run cut off by a reload: the row shows as interrupted with the phase it will continue from; after the
 * model is loaded again, Resume continues from the last checkpoint and the stored steps — finished loops are not
 * answered again — and the run finishes with both rounds' metrics. Real tfjs worker, tiny-llama fixture.
 */
import { expect, test } from '@playwright/test';
import { createExperiment, openApp } from './helpers/app.ts';
import { readRows } from './playground-helpers.ts';
import { addToyTasks, loadTinyLlama, setNumber } from './pipeline-helpers.ts';

test('SELF: reload in the middle, resume from the last checkpoint, finish', async ({ page }) => {
  await openApp(page);
  const id = await createExperiment(page, 'SELF resume');
  await addToyTasks(page, id, 16, 6);
  await page.goto(`/#/experiments/${id}/self`);
  await loadTinyLlama(page);
  await setNumber(page, 'self-rounds', 1);
  await setNumber(page, 'self-per-round', 16);
  await setNumber(page, 'self-eval-count', 6);
  await setNumber(page, 'self-batch', 2);
  await setNumber(page, 'self-answer-tokens', 4);
  await setNumber(page, 'self-feedback-tokens', 6);
  await setNumber(page, 'self-train-seqlen', 64);
  await page.getByTestId('start-self').click();
  // Reload once the round's collection has begun (the baseline is finished and checkpointed).
  await expect
    .poll(async () => (await readRows<{ progress: { checkpoint?: { phase: string } } | null }>(page, 'runs'))[0]?.progress?.checkpoint?.phase, { timeout: 60_000, intervals: [100] })
    .toMatch(/^(collect|train)$/);
  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');

  const item = page.getByTestId('self-run');
  await expect(item).toHaveAttribute('data-status', 'interrupted');
  await expect(item.getByTestId('self-run-phase')).toHaveText(/next: Round 1: (Answer, self-feedback, self-refine|LoRA training)/);
  const [before] = await readRows<{ id: string; status: string; metrics: { round: number }[] }>(page, 'runs');
  expect(before.metrics.map((m) => m.round)).toEqual([0]);
  const stepsBefore = await readRows<{ id: string; loopId: string; kind: string }>(page, 'steps');
  const draftsBefore = stepsBefore.filter((s) => s.kind === 'draft' && s.loopId.includes('/r1/collect/')).map((s) => s.loopId);

  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toBeVisible({ timeout: 60_000 });
  await item.getByTestId('resume-self-run').click();
  await expect(page.getByTestId('self-live')).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(item).toHaveAttribute('data-status', 'done');

  const [after] = await readRows<{ id: string; status: string; metrics: { round: number; loops?: number }[] }>(page, 'runs');
  expect(after).toMatchObject({ id: before.id, status: 'done' });
  expect(after.metrics.map((m) => m.round)).toEqual([0, 1]);
  expect(after.metrics[1].loops).toBe(16);
  const steps = await readRows<{ id: string; loopId: string; kind: string; refineRound: number }>(page, 'steps');
  // Every step stored before the reload is still there, unchanged, and no loop has a second draft.
  expect(steps.slice(0, stepsBefore.length)).toEqual(stepsBefore);
  const drafts = steps.filter((s) => s.kind === 'draft' && s.loopId.includes('/r1/collect/')).map((s) => s.loopId);
  expect(new Set(drafts).size).toBe(drafts.length);
  expect(drafts).toHaveLength(16);
  for (const l of draftsBefore) expect(drafts).toContain(l);
  expect(steps.filter((s) => s.kind === 'evaluation' && s.loopId.includes('/r0/eval-direct/'))).toHaveLength(6);
});
