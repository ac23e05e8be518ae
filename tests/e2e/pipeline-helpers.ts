/**
 * Helpers for the pipeline, SELF, SRT and evaluation e2e tests: which small model to use (the embedded toy
 * model once its files are built, else the tiny-llama fixture from the hub stand-in), loading it as the actor
 * (and as the critic), and reading stored rows with raw IndexedDB.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expect, type Locator, type Page } from '@playwright/test';
import { modelDir } from '../fixtures/reference.ts';
import { HUB } from './helpers/servers.ts';

/**
 * Whether the served app has the toy model: public/models/toy-arith holds a built model (config + weights), or
 * E2E_TOY_BUILT=1 says a model build was copied into the served dist/models/toy-arith by hand.
 */
export const TOY_BUILT =
  process.env.E2E_TOY_BUILT === '1' || (existsSync('public/models/toy-arith/config.json') && existsSync('public/models/toy-arith/model.safetensors'));

/** Loads tiny-llama (random weights) from the hub stand-in in a role's engine form, on wasm. */
export async function loadTinyLlama(page: Page, role: 'actor' | 'critic' = 'actor'): Promise<void> {
  await page.getByTestId(`${role}-engine-kind`).selectOption('tfjs');
  await page.getByTestId(`${role}-tfjs-from`).selectOption('hub');
  await page.getByTestId(`${role}-repo`).fill('fixtures/tiny-llama');
  await page.getByTestId(`${role}-hub`).fill(HUB);
  await page.getByTestId(`${role}-backend`).selectOption('wasm');
  await page.getByTestId(`${role}-load`).click();
  await expect(page.getByTestId(`${role}-ready`)).toContainText('fixtures/tiny-llama', { timeout: 60_000 });
}

/** Loads the tiny-llama fixture as the actor from a folder on disk (tfjs, wasm), and waits until it is ready. */
export async function loadTinyLlamaFromFolder(page: Page): Promise<void> {
  await page.getByTestId('actor-engine-kind').selectOption('tfjs');
  await page.getByTestId('actor-tfjs-from').selectOption('folder');
  await page.getByTestId('actor-backend').selectOption('wasm');
  await page.locator('#actor-folder').setInputFiles(modelDir('tiny-llama'));
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('(folder:model)', { timeout: 60_000 });
}

/** Loads the embedded toy model (the default choice) in a role's engine form. */
export async function loadToy(page: Page, role: 'actor' | 'critic' = 'actor'): Promise<void> {
  await page.getByTestId(`${role}-engine-kind`).selectOption('tfjs');
  await page.getByTestId(`${role}-tfjs-from`).selectOption('embedded');
  // Already loaded (the quick start loads the actor): a second load would leave a moment in which the old
  // "Ready" line still shows while the slot reloads, and a Run pressed then finds no model.
  const slot = page.getByTestId(`${role}-slot`);
  if ((await slot.getAttribute('data-status')) === 'ready' && (await page.getByTestId(`${role}-ready`).textContent())?.includes('toy-arith')) return;
  await page.getByTestId(`${role}-load`).click();
  await expect(page.getByTestId(`${role}-ready`)).toContainText('toy-arith', { timeout: 60_000 });
}

/** Opens the folded settings (a closed <details>) that hold `el`, by clicking its summary as a person would. */
export async function unfold(el: Locator): Promise<void> {
  const closed = await el.evaluate((e) => {
    const d = e.closest('details');
    return d !== null && !d.open;
  });
  if (closed) await el.locator('xpath=ancestor::details[1]/summary').click();
}

/** Fills a number input by test id (unfolding the settings that hold it). */
export async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = page.getByTestId(testId);
  await unfold(input);
  await input.fill(String(value));
  await expect(input).toHaveValue(String(value));
}

/** Fills several number inputs by test id, in the order given. */
export async function setNumbers(page: Page, values: Record<string, number>): Promise<void> {
  for (const [testId, value] of Object.entries(values)) await setNumber(page, testId, value);
}

/** Blobs inside rows come back from page.evaluate as {} — this reads their sizes instead. */
export async function blobSizes(page: Page, store: string, fields: string[]): Promise<Record<string, number | null>[]> {
  return page.evaluate(
    ({ store, fields }) =>
      new Promise<Record<string, number | null>[]>((resolve, reject) => {
        const open = indexedDB.open('self-refine-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction(store, 'readonly').objectStore(store).getAll();
          req.onsuccess = () => {
            open.result.close();
            resolve(
              (req.result as Record<string, unknown>[]).map((row) =>
                Object.fromEntries(fields.map((f) => [f, row[f] instanceof Blob ? (row[f] as Blob).size : null])),
              ),
            );
          };
          req.onerror = () => reject(req.error);
        };
      }),
    { store, fields },
  );
}

/** The bytes of the file a click downloads. */
export async function download(page: Page, click: () => Promise<void>): Promise<Buffer> {
  return (await downloadFile(page, click)).bytes;
}

/** The file a click downloads, with the name the page suggested for it. */
export async function downloadFile(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const waiting = page.waitForEvent('download');
  await click();
  const d = await waiting;
  return { name: d.suggestedFilename(), bytes: await readFile((await d.path())!) };
}

/** Adds the toy task set (seed 0) to an experiment on its Tasks tab, and waits until it is stored. */
export async function addToyTasks(page: Page, experimentId: string, train: number, evalCount: number): Promise<void> {
  await page.goto(`/#/experiments/${experimentId}/tasks`);
  await page.getByTestId('task-set-choice').selectOption('toy-arith');
  await page.getByTestId('toy-train').fill(String(train));
  await page.getByTestId('toy-eval').fill(String(evalCount));
  await page.getByTestId('add-task-set').click();
  await expect(page.getByTestId('task-count')).toHaveText(`${train + evalCount} in total`);
}
