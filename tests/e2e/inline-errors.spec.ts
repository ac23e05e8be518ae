/**
 * An error caused by a state the page can see (StateError) shows next to the control that was pressed and
 * clears by itself, live, once its cause is gone, with no banner left behind: Run on an experiment with no tasks
 * (cleared by typing a prompt), and Run after a reload whose model is a folder on disk, which the page cannot
 * load by itself (cleared by choosing the folder again and loading it). At 1280×720 the button and its error are on
 * screen without scrolling.
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { modelDir } from '../fixtures/reference.ts';
import { createExperiment, openApp } from './helpers/app.ts';
import { inView } from './helpers/layout.ts';
import { loadTinyLlamaFromFolder } from './pipeline-helpers.ts';

/** The error is shown beside `control` (same row, or just below it), not somewhere else on the page; both on screen. */
async function beside(page: Page, control: Locator, error: Locator): Promise<void> {
  const [a, b] = [await control.boundingBox(), await error.boundingBox()];
  expect(a && b, 'both are laid out').toBeTruthy();
  expect(Math.abs(b!.y - a!.y)).toBeLessThan(120);
  await inView(page, control);
  await inView(page, error);
}

async function noBanner(page: Page): Promise<void> {
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('notice-banner')).toHaveCount(0);
}

test('an inline error next to Run clears once its cause is gone (no task; a folder model after a reload), with no banner left', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openApp(page);
  const id = await createExperiment(page, 'Inline errors');
  await page.goto(`/#/experiments/${id}/playground`);
  const run = page.getByTestId('run-loop');
  const error = page.getByTestId('run-loop-note-error');

  // No tasks: the error at the button; typing a prompt removes the cause and the error goes, without pressing Run.
  await run.click();
  await expect(error).toContainText('This experiment has no tasks yet');
  await expect(run).toHaveAttribute('aria-describedby', 'run-loop-note');
  await beside(page, run, error);
  await noBanner(page);
  await page.screenshot({ path: test.info().outputPath('1-no-task-error.png') });
  await page.getByTestId('pick-typed').check();
  await expect(error).toHaveCount(0);
  await page.getByTestId('typed-prompt').fill('Say hello.');
  await noBanner(page);

  // The model is a folder on disk: loaded once, so the experiment remembers that choice.
  await loadTinyLlamaFromFolder(page);

  // After a reload the folder's files are gone: Run cannot load the model by itself and says so at the button.
  await page.reload();
  await expect(page.getByTestId('actor-slot')).toHaveAttribute('data-status', 'empty');
  await page.getByTestId('pick-typed').check();
  await page.getByTestId('typed-prompt').fill('Say hello.');
  await run.click();
  await expect(error).toContainText('is a folder on your disk');
  await expect(error).toContainText('choose it again under Engines and press Load');
  await beside(page, run, error);
  await noBanner(page);
  await page.screenshot({ path: test.info().outputPath('2-folder-model-error.png') });

  // Choosing the folder again and loading it (under Engines, not Run) removes the cause: the error goes by itself.
  await page.locator('#actor-folder').setInputFiles(modelDir('tiny-llama'));
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('(folder:model)', { timeout: 60_000 });
  await expect(error).toHaveCount(0);
  await noBanner(page);
  await expect(run).toBeEnabled();
  await page.screenshot({ path: test.info().outputPath('3-cleared.png') });
});
