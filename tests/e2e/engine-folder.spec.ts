/**
 * The tfjs engine on a model folder from this computer, in the app: picked with the folder button
 * (<input webkitdirectory>) or dropped on the drop zone; either way the files go to the tfjs worker, which
 * loads them. A drop with nothing usable says what to drop. (Playwright cannot drag from the file manager: the
 * drop is dispatched with a DataTransfer holding the fixture's files, which Chromium gives without entries,
 * so the loose-files path runs; the folder-entries path is covered by tests/unit/ui-dropped-files.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { modelDir } from '../fixtures/reference.ts';
import { createExperiment, openApp } from './helpers/app.ts';

async function openPlayground(page: Page, name: string): Promise<void> {
  await openApp(page);
  const id = await createExperiment(page, name);
  await page.goto(`/#/experiments/${id}/playground`);
  await page.getByTestId('actor-engine-kind').selectOption('tfjs');
  await page.getByTestId('actor-tfjs-from').selectOption('folder');
  await page.getByTestId('actor-backend').selectOption('wasm');
}

test('a picked model folder loads in the tfjs worker', async ({ page }) => {
  await openPlayground(page, 'Picked folder');
  await page.locator('#actor-folder').setInputFiles(modelDir('tiny-llama'));
  await expect(page.getByTestId('actor-folder-files')).toHaveText('4 files from “model”.');
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('(folder:model)', { timeout: 60_000 });
  await expect(page.getByTestId('actor-detail')).toContainText('Backend: wasm');
});

test('model files dropped on the drop zone load in the tfjs worker; a useless drop says what to drop', async ({ page }) => {
  await openPlayground(page, 'Dropped files');
  const zone = page.getByTestId('actor-folder-drop');

  // Dragging text only: nothing to load, and the page says so (nothing is opened or navigated to).
  await zone.evaluate((el) => {
    const dt = new DataTransfer();
    dt.setData('text/plain', 'config.json');
    el.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await expect(page.getByTestId('actor-folder-problem')).toContainText('Nothing usable was dropped');

  const dir = modelDir('tiny-llama');
  const files = readdirSync(dir).map((name) => ({ name, base64: readFileSync(join(dir, name)).toString('base64') }));
  const prevented = await zone.evaluate((el, files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
    el.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const drop = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
    el.dispatchEvent(drop);
    return drop.defaultPrevented;
  }, files);
  expect(prevented).toBe(true); // the browser does not open the dropped file instead
  await expect(page.getByTestId('actor-folder-files')).toHaveText('4 files from “dropped files”.');
  await expect(page.getByTestId('actor-folder-problem')).toHaveCount(0);
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('(folder:dropped files)', { timeout: 60_000 });
  await expect(page.getByTestId('actor-detail')).toContainText('Backend: wasm');
});
