/**
 * The Tasks tab (built-in and toy sets, import with errors by line, filters, delete) and the web-llm choices
 * the playground shows on this machine's SwiftShader adapter (no shader-f16: q4f32 picked, explained), plus
 * the "Models in this browser" list in Settings. Nothing is downloaded.
 */
import { expect, test } from '@playwright/test';
import { createExperiment, openApp, recordDialogs } from './helpers/app.ts';
import { readRows } from './playground-helpers.ts';

test('add the toy set from a seed, import prompts (bad lines listed, nothing half-imported), filter and delete', async ({ page }) => {
  const dialogs = recordDialogs(page);
  await openApp(page);
  const id = await createExperiment(page, 'Tasks');
  await page.goto(`/#/experiments/${id}/tasks`);
  await expect(page.getByTestId('no-tasks')).toBeVisible();

  await page.getByTestId('task-set-choice').selectOption('toy-arith');
  await page.getByTestId('toy-seed').fill('7');
  await page.getByTestId('toy-train').fill('12');
  await page.getByTestId('toy-eval').fill('5');
  await page.getByTestId('add-task-set').click();
  await expect(page.getByTestId('task-count')).toHaveText('17 in total');
  await page.getByTestId('filter-split').selectOption('eval');
  await expect(page.getByTestId('task-row')).toHaveCount(5);
  await expect(page.getByTestId('task-row').first()).toContainText(/^\d+ [+-] \d+/);
  // Adding the same set again adds nothing.
  await page.getByTestId('add-task-set').click();
  await expect(page.getByTestId('notice-banner')).toContainText('Added 0 tasks');

  // A file with two bad lines: nothing is imported and each problem names its line.
  const bad = ['{"prompt": "Add 2 and 3", "answer": 5}', '{"prompt": ""}', 'not json', '{"prompt": "<script>alert(1)</script>"}'].join('\n');
  await page.getByTestId('import-tasks').setInputFiles({ name: 'mine.jsonl', mimeType: 'application/json', buffer: Buffer.from(bad) });
  await expect(page.getByTestId('import-issues')).toContainText('Line 2: the prompt is empty.');
  await expect(page.getByTestId('import-issues')).toContainText('Line 3: not valid JSON');
  await expect(page.getByTestId('import-summary')).toContainText('Nothing was imported');
  expect(await readRows(page, 'tasks')).toHaveLength(17);

  const good = ['{"prompt": "Add 2 and 3", "answer": 5, "split": "eval"}', '{"prompt": "<script>alert(1)</script>", "rules": [{"type": "no_commas"}]}'].join('\n');
  await page.getByTestId('import-tasks').setInputFiles({ name: 'mine.jsonl', mimeType: 'application/json', buffer: Buffer.from(good) });
  await expect(page.getByTestId('import-summary')).toContainText('Imported 2 prompts');
  await page.getByTestId('filter-split').selectOption('');
  await expect(page.getByTestId('task-count')).toHaveText('19 in total');
  await page.getByTestId('filter-kind').selectOption('instruction');
  await expect(page.getByTestId('task-row')).toHaveCount(1);
  await expect(page.getByTestId('task-row').locator('.task-text')).toHaveText('<script>alert(1)</script>');
  const rows = await readRows<{ prompt: string; kind: string; reference: string | null; checker: unknown; split: string; taskSetId: string }>(page, 'tasks');
  expect(rows.find((r) => r.prompt === 'Add 2 and 3')).toMatchObject({ kind: 'math', reference: '5', split: 'eval', taskSetId: 'import' });
  expect(rows.find((r) => r.kind === 'instruction')).toMatchObject({ checker: { rules: [{ type: 'no_commas' }] } });

  // Delete what the filter shows.
  await page.getByTestId('filter-kind').selectOption('toy-arith');
  await page.getByTestId('delete-shown').click();
  await page.getByRole('dialog', { name: 'Delete 17 tasks?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('task-count')).toHaveText('2 in total');
  expect(dialogs).toEqual([]);
});

test('web-llm choices on this GPU: q4f32 picked and explained; Settings lists cached models (none here)', async ({ page }) => {
  await openApp(page);
  const id = await createExperiment(page, 'web-llm choices');
  await page.goto(`/#/experiments/${id}/playground`);
  await page.getByTestId('actor-engine-kind').selectOption('webllm');
  await expect(page.getByTestId('actor-gpu')).toContainText('lacks shader-f16, so 32-bit-float builds are picked (q4f32, or q0f32 for a model without a 4-bit build)');
  await page.getByTestId('actor-webllm-model').selectOption('qwen2.5-0.5b');
  await expect(page.getByTestId('actor-webllm-reason')).toContainText('Picked q4f32_1 because');
  await expect(page.getByTestId('actor-webllm-reason')).toContainText('lacks the WebGPU feature shader-f16');

  await page.goto('/#/settings');
  await page.getByTestId('check-models').click();
  await expect(page.getByTestId('no-cached-models')).toBeVisible();
});
