import { expect, test } from '@playwright/test';
import { DB_NAME, createExperiment, experimentItem, openApp, putRows } from './helpers/app.ts';

test('two tabs see each other’s changes live', async ({ page, context }) => {
  const other = await context.newPage();
  await openApp(page);
  await openApp(other);

  await createExperiment(page, 'Shared across tabs');
  await expect(experimentItem(other, 'Shared across tabs')).toHaveCount(1);

  const item = experimentItem(other, 'Shared across tabs');
  await item.getByRole('button', { name: 'Rename Shared across tabs' }).click();
  await item.page().getByTestId('rename-input').fill('Renamed in tab 2');
  await item.page().getByTestId('rename-input').press('Enter');
  await expect(experimentItem(page, 'Renamed in tab 2')).toHaveCount(1);

  // The experiment page follows too.
  await experimentItem(page, 'Renamed in tab 2').getByTestId('experiment-name').click();
  await expect(page.getByTestId('experiment-title')).toHaveText('Renamed in tab 2');
  await experimentItem(other, 'Renamed in tab 2').getByRole('button', { name: 'Rename Renamed in tab 2' }).click();
  await other.getByTestId('rename-input').fill('Renamed again');
  await other.getByTestId('rename-input').press('Enter');
  await expect(page.getByTestId('experiment-title')).toHaveText('Renamed again');
});

test('a newer schema opened in another tab makes this tab ask to reload', async ({ page, context }) => {
  await openApp(page);
  await createExperiment(page, 'Before the upgrade');
  const other = await context.newPage();
  await other.goto('/#/settings');
  // "A newer version of the app" in tab 2: the same database, a higher version.
  const version = await other.evaluate(
    (name) =>
      new Promise<number>((resolve, reject) => {
        const req = indexedDB.open(name, 1000);
        req.onsuccess = () => {
          const v = req.result.version;
          req.result.close();
          resolve(v);
        };
        req.onerror = () => reject(req.error);
      }),
    DB_NAME,
  );
  expect(version).toBe(1000);
  const banner = page.getByTestId('reload-banner');
  await expect(banner).toContainText('upgraded by a newer version of Self-Refine Studio');
  await expect(banner.getByRole('button', { name: 'Reload now' })).toBeVisible();
  // This (older) code refuses to run on the newer schema after a reload, and says why.
  await page.reload();
  await expect(page.getByTestId('fatal-error')).toContainText('upgraded by a newer version');
});

test('a run cut off by a closed tab shows as interrupted after reload; one another tab still runs does not', async ({ page, context }) => {
  await openApp(page);
  const experimentId = await createExperiment(page, 'Long self-evolution');
  const crashedId = '018f0000-0000-7000-8000-00000000c0de';
  const liveId = '018f0000-0000-7000-8000-00000000a11e';

  // Tab 2 is executing `liveId`: it holds the run's Web Lock.
  const other = await context.newPage();
  await openApp(other);
  await other.evaluate((name) => {
    void navigator.locks.request(name, () => new Promise<void>(() => {}));
  }, `run:${liveId}`);
  await expect.poll(() => other.evaluate(async () => (await navigator.locks.query()).held?.length ?? 0)).toBe(1);

  // Rows as a run writes them: both still 'running'.
  const run = (id: string, kind: string) => ({
    id, experimentId, kind, status: 'running', config: {}, progress: { done: 3, total: 10 }, metrics: [],
    startedAt: Date.now() - 60_000, updatedAt: Date.now(), finishedAt: null, error: null,
  });
  await putRows(page, 'runs', [run(crashedId, 'self'), run(liveId, 'refine')]);

  await page.reload();
  await experimentItem(page, 'Long self-evolution').getByTestId('experiment-name').click();
  const crashed = page.locator(`[data-testid="run"][data-id="${crashedId}"]`);
  const live = page.locator(`[data-testid="run"][data-id="${liveId}"]`);
  await expect(crashed.getByTestId('run-status')).toHaveText('interrupted');
  await expect(crashed.getByTestId('run-error')).toContainText('Interrupted: the tab that was running it was closed');
  await expect(live.getByTestId('run-status')).toHaveText('running');
});
