import { expect, test } from '@playwright/test';
import { openApp } from './helpers/app.ts';

test('the settings page shows the environment, storage and versions', async ({ page }) => {
  await openApp(page, '#/settings');
  await expect(page.getByTestId('isolation')).toHaveText('cross-origin isolated: yes');
  // Chromium with --enable-unsafe-webgpu: a SwiftShader adapter, without shader-f16.
  await expect(page.getByTestId('env-webgpu')).toHaveText('available');
  const f16 = await page.evaluate(async () => !!(await navigator.gpu.requestAdapter())?.features.has('shader-f16'));
  await expect(page.getByTestId('env-shader-f16')).toContainText(f16 ? 'yes' : 'no (pick q4f32 models');
  const threads = await page.evaluate(() => navigator.hardwareConcurrency);
  await expect(page.getByTestId('env-threads')).toHaveText(String(threads));
  await expect(page.getByTestId('storage-usage')).toHaveText(/^\d+(\.\d)? (B|KB|MB|GB)$/);
  await expect(page.getByTestId('storage-quota')).toContainText('% used');
  await expect(page.getByTestId('storage-persisted')).toHaveText(/^(yes|no)/);
  await expect(page.getByTestId('schema-version')).toHaveText('version 3');
  // Keyboard: the main navigation is reachable and works with Enter.
  await page.getByRole('link', { name: 'Experiments', exact: true }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Experiments', level: 1 })).toBeVisible();
});

test('the CPU engine panel says how many threads the tfjs engine runs and why, and keeps a cap and the weight format', async ({ page }) => {
  await openApp(page, '#/settings');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const n = Math.min(cores, 8);
  await expect(page.getByTestId('cpu-threads')).toHaveText(n === 1 ? '1 thread: this machine has 1 core' : `${n} threads: every core (${cores} cores)`);
  await page.getByTestId('cpu-thread-cap').selectOption('1');
  await expect(page.getByTestId('cpu-threads')).toHaveText(n === 1 ? '1 thread: this machine has 1 core' : `1 thread: capped by the thread setting (${cores} cores)`);
  await expect(page.getByTestId('cpu-format-f32')).toBeChecked();
  await page.getByTestId('cpu-format-f32-packed').check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Saved. A tfjs engine started from now on uses these settings')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('cpu-thread-cap')).toHaveValue('1');
  await expect(page.getByTestId('cpu-format-f32-packed')).toBeChecked();
  await page.getByTestId('cpu-format-int8').check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.reload();
  await expect(page.getByTestId('cpu-format-int8')).toBeChecked();
});
