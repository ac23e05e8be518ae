/**
 * A new experiment's default engine: tfjs with the embedded toy model, fetched from the app's own origin
 * (public/models/toy-arith, committed), on wasm here (SwiftShader is not a hardware adapter); a loop over a
 * toy task runs on it to the end. Without the model's files (a checkout where they were not built: the
 * server answers 404 here), loading fails with a clear message naming the missing file. Both always run.
 */
import { existsSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { createExperiment, openApp } from './helpers/app.ts';
import { readRows, stepThroughToFeedback } from './playground-helpers.ts';
import { addToyTasks } from './pipeline-helpers.ts';

const built = existsSync('public/models/toy-arith/config.json') && existsSync('public/models/toy-arith/model.safetensors');

/** A new experiment's Playground with the default engine choice; loads it and returns the URLs it requested. */
async function loadDefaultEngine(page: Page): Promise<{ id: string; requested: string[] }> {
  await openApp(page);
  const id = await createExperiment(page, 'Default engine');
  await page.goto(`/#/experiments/${id}/playground`);
  await expect(page.getByTestId('actor-engine-kind')).toHaveValue('tfjs');
  await expect(page.getByTestId('actor-tfjs-from')).toHaveValue('embedded');
  await expect(page.getByTestId('actor-backend')).toHaveValue('auto');
  const requested: string[] = [];
  page.context().on('request', (r) => requested.push(r.url()));
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-slot')).toHaveAttribute('data-status', /ready|failed/, { timeout: 60_000 });
  return { id, requested };
}

test('without the toy model\'s files, loading the default engine fails saying which file is missing', async ({ page, baseURL }) => {
  // The worker's requests for the model folder get what a server without the built model answers.
  await page.context().route('**/models/toy-arith/**', (route) => route.fulfill({ status: 404, body: 'Not found' }));
  const { requested } = await loadDefaultEngine(page);
  expect(requested).toContain(`${baseURL}/models/toy-arith/config.json`);
  await expect(page.getByTestId('actor-slot')).toHaveAttribute('data-status', 'failed');
  await expect(page.getByTestId('actor-error')).toContainText('config.json');
});

test('the default engine is the embedded toy model on tfjs, loaded from this origin', async ({ page, baseURL }) => {
  expect(built, 'the toy model is committed in public/models/toy-arith').toBe(true);
  const { id, requested } = await loadDefaultEngine(page);
  expect(requested).toContain(`${baseURL}/models/toy-arith/config.json`);
  await expect(page.getByTestId('actor-ready')).toContainText('toy-arith');
  await expect(page.getByTestId('actor-detail')).toContainText('Backend: wasm');

  await addToyTasks(page, id, 1, 1);
  await page.goto(`/#/experiments/${id}/playground`);
  const [task] = await readRows<{ id: string; prompt: string }>(page, 'tasks');
  // Keep each reply short enough that the feedback prompt quoting it fits the toy model's 384-token context.
  await page.getByTestId('refine-settings').locator('summary').click();
  await page.getByTestId('set-max-tokens').fill('120');
  await page.getByTestId('set-max-rounds').fill('0');
  await page.getByTestId('save-refine-settings').click();
  await expect(page.getByTestId('notice-banner')).toContainText('Settings saved');
  await page.getByTestId('task-select').selectOption(task.id);
  await page.getByTestId('run-loop').click();
  await expect(page.getByTestId('live-run')).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  await expect(page.getByTestId('stop-reason')).toHaveText(/^Stopped: /);
  const steps = await readRows<{ kind: string; engine: string; modelId: string; taskId: string; parseStatus: string }>(page, 'steps');
  expect(steps[0]).toMatchObject({ kind: 'draft', engine: 'tfjs', modelId: 'toy-arith', taskId: task.id });
  expect(steps.filter((s) => s.kind === 'feedback').length).toBeGreaterThan(0);

  // Step by step on the toy model: each call waits at the gate, then the rest runs to the end.
  await stepThroughToFeedback(page);
  await page.getByTestId('run-to-end').click();
  await expect(page.getByTestId('live-run')).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  const after = await readRows<{ kind: string; modelId: string }>(page, 'steps');
  expect(after.length).toBeGreaterThan(steps.length + 1);
  expect(after.slice(steps.length).every((s) => s.modelId === 'toy-arith')).toBe(true);
});
