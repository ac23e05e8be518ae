import { expect, test } from '@playwright/test';
import { zipSync, strToU8 } from 'fflate';
import { readFile } from 'node:fs/promises';
import { countRows, createExperiment, experimentItem, experimentItems, openApp, recordDialogs } from './helpers/app.ts';

test('create an experiment, reload: it is still there; rename, duplicate and delete it', async ({ page }) => {
  const dialogs = recordDialogs(page);
  await openApp(page);
  await expect(page.getByTestId('empty-list')).toBeVisible();
  await createExperiment(page, 'Arithmetic warm-up');

  await page.reload();
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
  await expect(experimentItem(page, 'Arithmetic warm-up')).toHaveCount(1);

  const item = experimentItem(page, 'Arithmetic warm-up');
  await item.getByRole('button', { name: 'Rename Arithmetic warm-up' }).click();
  await item.page().getByTestId('rename-input').fill('Arithmetic, round 2');
  await item.page().getByTestId('rename-input').press('Enter');
  await expect(experimentItem(page, 'Arithmetic, round 2')).toHaveCount(1);

  await experimentItem(page, 'Arithmetic, round 2').getByRole('button', { name: 'Duplicate Arithmetic, round 2' }).click();
  await expect(experimentItem(page, 'Arithmetic, round 2 (copy)')).toHaveCount(1);

  // Delete asks first; Cancel keeps it.
  const copy = experimentItem(page, 'Arithmetic, round 2 (copy)');
  await copy.getByRole('button', { name: 'Delete Arithmetic, round 2 (copy)' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this experiment?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('“Arithmetic, round 2 (copy)” will be deleted with its 0 tasks, 0 runs');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(experimentItems(page)).toHaveCount(2);
  await copy.getByRole('button', { name: 'Delete Arithmetic, round 2 (copy)' }).click();
  await page.getByRole('dialog', { name: 'Delete this experiment?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(experimentItems(page)).toHaveCount(1);
  expect(await countRows(page, 'experiments')).toBe(1);

  // Opening it shows its page with the stored counts.
  await page.getByTestId('experiment-name').click();
  await expect(page.getByTestId('experiment-title')).toHaveText('Arithmetic, round 2');
  await expect(page.getByTestId('count-runs')).toHaveText('0');
  expect(dialogs).toEqual([]);
});

test('a name like <img src=x onerror=alert(1)> shows as text and runs nothing', async ({ page }) => {
  const dialogs = recordDialogs(page);
  await openApp(page);
  const names = ['<img src=x onerror=alert(1)>', '"><svg onload="window.__pwned=1"></svg>'];
  for (const name of names) await createExperiment(page, name);

  for (const name of names) await expect(experimentItem(page, name).getByTestId('experiment-name')).toHaveText(name);
  await expect(page.locator('main img, main svg')).toHaveCount(0);

  await experimentItem(page, names[0]).getByTestId('experiment-name').click();
  await expect(page.getByTestId('experiment-title')).toHaveText(names[0]);
  await expect(page.locator('main img, main svg')).toHaveCount(0);
  expect(await page.title()).toContain(names[0]);

  // Export it and import it back: the imported name is still plain text.
  await page.goBack();
  const download = page.waitForEvent('download');
  await experimentItem(page, names[0]).getByRole('button', { name: `Export ${names[0]}` }).click();
  const file = await (await download).path();
  await page.getByTestId('import-input').setInputFiles(file);
  await expect(page.getByTestId('notice-banner')).toContainText(`Imported “${names[0]}”`);
  await expect(experimentItem(page, names[0])).toHaveCount(2);
  await expect(page.locator('main img, main svg')).toHaveCount(0);

  await page.waitForTimeout(300); // give an injected handler a chance to fire, were there one
  expect(dialogs).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
});

test('importing a broken bundle shows the error and changes nothing; an exported one imports', async ({ page }) => {
  await openApp(page);
  await createExperiment(page, 'Existing');
  const before = { experiments: await countRows(page, 'experiments'), tasks: await countRows(page, 'tasks') };

  // A truncated download.
  const download = page.waitForEvent('download');
  await experimentItem(page, 'Existing').getByRole('button', { name: 'Export Existing' }).click();
  const good = await readFile(await (await download).path());
  await page.getByTestId('import-input').setInputFiles({ name: 'Existing.srs.zip', mimeType: 'application/zip', buffer: good.subarray(0, good.length >> 1) });
  // Refusals are shown next to the import button.
  const refusal = page.getByTestId('import-bundle-error');
  await expect(refusal).toContainText('This file is not a valid experiment bundle: the zip file is damaged or truncated');
  await expect(refusal).toContainText('Nothing was imported.');
  await expect(refusal).toHaveAttribute('data-code', 'bundle-invalid');

  // A hostile zip with a path-traversal entry.
  const hostile = zipSync({ 'manifest.json': strToU8('{}'), '../../etc/cron.d/evil': strToU8('* * * * * rm -rf /') });
  await refusal.getByRole('button', { name: 'Dismiss this message' }).click();
  await expect(refusal).toHaveCount(0);
  await page.getByTestId('import-input').setInputFiles({ name: 'evil.srs.zip', mimeType: 'application/zip', buffer: Buffer.from(hostile) });
  await expect(refusal).toContainText('unexpected entry "../../etc/cron.d/evil"');

  await expect(experimentItems(page)).toHaveCount(1);
  expect({ experiments: await countRows(page, 'experiments'), tasks: await countRows(page, 'tasks') }).toEqual(before);

  // The untouched export imports as a second experiment.
  await page.getByTestId('import-input').setInputFiles({ name: 'Existing.srs.zip', mimeType: 'application/zip', buffer: good });
  await expect(page.getByTestId('notice-banner')).toContainText('Imported “Existing” with 0 tasks, 0 runs');
  await expect(experimentItem(page, 'Existing')).toHaveCount(2);
});
