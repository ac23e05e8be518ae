/**
 * Helpers for the checkpoint and trainer-lock e2e tests: the toy experiment with SFT samples collected from a
 * Playground batch, the origin-private file system (OPFS) as a list of files, and the step labels of the
 * Training panel recorded with the time each appeared.
 */
import { expect, type Page } from '@playwright/test';
import { openApp } from './helpers/app.ts';

/** Creates the toy experiment (model loading by itself), answers `tasks` questions in a batch, collects all of them as samples, opens Training. */
export async function toyWithSamples(page: Page, tasks: number): Promise<string> {
  await openApp(page);
  await page.getByTestId('create-toy-experiment').click();
  await expect(page.getByTestId('actor-ready')).toContainText('toy-arith', { timeout: 60_000 });
  const id = /#\/experiments\/([^/]+)/.exec(page.url())?.[1];
  if (!id) throw new Error(`no experiment id in ${page.url()}`);
  await page.getByTestId('batch-limit').fill(String(tasks));
  await page.getByTestId('run-batch').click();
  await expect(page.getByTestId('batch-progress-label')).toContainText(`${tasks} of ${tasks} tasks done`, { timeout: 180_000 });
  await page.getByTestId('tab-samples').click();
  await page.getByTestId('collect-run').first().check();
  // Every loop, right or wrong (Collect's default keeps only those the model's own feedback calls correct): these
  // tests are about training runs of a known length, not about what the samples teach.
  await page.getByTestId('filter-verdict').uncheck();
  await page.getByTestId('collect-samples').click();
  await expect(page.getByTestId('sample-summary')).toContainText(`${tasks} included`);
  await page.getByTestId('tab-training').click();
  return id;
}

/** Every file under the origin-private file system's root, as "path size". */
export async function opfsFiles(page: Page): Promise<{ path: string; size: number }[]> {
  return page.evaluate(async () => {
    const out: { path: string; size: number }[] = [];
    type Dir = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };
    async function walk(d: Dir, prefix: string): Promise<void> {
      for await (const [name, h] of d.entries()) {
        if (h.kind === 'directory') await walk(h as Dir, `${prefix}${name}/`);
        else out.push({ path: `${prefix}${name}`, size: (await (h as FileSystemFileHandle).getFile()).size });
      }
    }
    // The app may remove a folder while the walk is in it (an older checkpoint replaced by a newer one): the
    // walk then starts again, so what is returned is one moment's files.
    for (let attempt = 0; ; attempt++) {
      out.length = 0;
      try {
        await walk((await navigator.storage.getDirectory()) as Dir, '');
        break;
      } catch (e) {
        if (!(e instanceof DOMException && e.name === 'NotFoundError') || attempt >= 5) throw e;
      }
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  });
}

/** The checkpoints/<run>/latest.json of a run, parsed, or null. */
export async function latestJson(page: Page, runId: string): Promise<{ step: number; totalSteps: number | null } | null> {
  return page.evaluate(async (runId) => {
    try {
      const root = await navigator.storage.getDirectory();
      const run = await (await root.getDirectoryHandle('checkpoints')).getDirectoryHandle(runId);
      return JSON.parse(await (await (await run.getFileHandle('latest.json')).getFile()).text());
    } catch {
      return null;
    }
  }, runId);
}

/** From now on, records in the page each step the Training panel shows, with the time (Date.now()) it appeared. */
export async function recordSteps(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: [number, number][] = [];
    (window as unknown as { stepTimes: typeof seen }).stepTimes = seen;
    new MutationObserver(() => {
      const m = /step (\d+) of/.exec(document.querySelector('[data-testid="training-progress-label"]')?.textContent ?? '');
      const step = m ? Number(m[1]) : null;
      if (step !== null && seen.at(-1)?.[0] !== step) seen.push([step, Date.now()]);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export async function recordedSteps(page: Page): Promise<Map<number, number>> {
  return new Map(await page.evaluate(() => (window as unknown as { stepTimes: [number, number][] }).stepTimes));
}

/** The step the Training panel shows now. */
export async function shownStep(page: Page): Promise<number> {
  return Number(/step (\d+) of/.exec((await page.getByTestId('training-progress-label').textContent()) ?? '')?.[1] ?? NaN);
}
