/**
 * Shared e2e helpers for the shell. Every Playwright test gets a fresh browser context (a fresh profile:
 * empty IndexedDB, no locks), so `openApp` on the test's `page` starts from nothing.
 */
import { expect, type Locator, type Page } from '@playwright/test';

export const DB_NAME = 'self-refine-studio';

/** Opens the app at a hash route and waits until its storage is open. */
export async function openApp(page: Page, hash = '#/'): Promise<void> {
  await page.goto(`/${hash}`);
  await expect(page.locator('main')).toHaveAttribute('data-phase', 'ready');
}

export function experimentItems(page: Page): Locator {
  return page.getByTestId('experiment-item');
}

export function experimentItem(page: Page, name: string): Locator {
  return experimentItems(page).filter({ has: page.getByTestId('experiment-name').getByText(name, { exact: true }) });
}

/** Creates an experiment through the form and returns its id. */
export async function createExperiment(page: Page, name: string): Promise<string> {
  await page.getByTestId('new-experiment-name').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const item = experimentItem(page, name);
  await expect(item).toHaveCount(1);
  const id = await item.getAttribute('data-id');
  if (!id) throw new Error('experiment item without data-id');
  return id;
}

/** Counts rows of an object store with raw IndexedDB (independent of the app's code). */
export async function countRows(page: Page, store: string): Promise<number> {
  return page.evaluate(
    ({ dbName, store }) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open(dbName);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction(store, 'readonly').objectStore(store).count();
          req.onsuccess = () => {
            db.close();
            resolve(req.result);
          };
          req.onerror = () => reject(req.error);
        };
      }),
    { dbName: DB_NAME, store },
  );
}

/** Writes rows with raw IndexedDB, shaped like the current schema (what a crashed tab would have left). */
export async function putRows(page: Page, store: string, rows: unknown[]): Promise<void> {
  await page.evaluate(
    ({ dbName, store, rows }) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(dbName);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(store, 'readwrite');
          for (const row of rows) tx.objectStore(store).put(row);
          tx.oncomplete = () => {
            db.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    { dbName: DB_NAME, store, rows },
  );
}

/** Records every alert/confirm/prompt the page opens (none should, unless a test asks for one). */
export function recordDialogs(page: Page): string[] {
  const seen: string[] = [];
  page.on('dialog', (d) => {
    seen.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return seen;
}
