/**
 * The reports presentation mode hands out (present-loop-report, present-self-report), on the toy model: each
 * download is one self-contained HTML file (no script, nothing fetched from elsewhere, charts as inline <svg>),
 * holds the run's own figures and texts, and shows hostile text as text. The hostile strings are seeded into the
 * stored rows the reports are written from (a model output, the task text, the experiment's name), as a model or
 * an imported file could have written them; each report is then opened in the browser to check that none of it
 * became an element and that no script ran.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { openApp, putRows } from './helpers/app.ts';
import { readRows } from './playground-helpers.ts';
import { downloadFile, setNumbers, TOY_BUILT } from './pipeline-helpers.ts';

test.skip(!TOY_BUILT, 'needs the built toy model');
test.setTimeout(300_000);

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';

interface StepRow { id: string; runId: string; loopId: string; kind: string; refineRound: number; text: string; createdAt: number }
interface RunRow { id: string; kind: string; metrics: { round: number; evalTasks: number; directAccuracy?: number; refinedAccuracy?: number }[] }

/** A download's file name and text. */
async function downloadText(page: Page, testid: string): Promise<{ name: string; html: string }> {
  const { name, bytes } = await downloadFile(page, () => page.getByTestId(testid).click());
  return { name, html: bytes.toString('utf8') };
}

/** What a report file is made of, as text: one HTML document, nothing that runs or loads from elsewhere. */
function selfContained(html: string): void {
  expect(html.startsWith('<!doctype html>')).toBe(true);
  expect(html.match(/<html/gi)).toHaveLength(1);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<(img|iframe|object|embed|link|base)\b/i);
  // Inside a tag (text is escaped, so it holds no raw "<"): no attribute that fetches anything or handles an event.
  expect(html).not.toMatch(/<[a-z][^>]*\s(src|href|xlink:href|srcset|action|on[a-z]+)\s*=/i);
  expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
}

/** Opens the report on a fresh page; returns the page, with every dialog a script would open recorded. */
async function openReport(browser: Browser, html: string): Promise<{ page: Page; dialogs: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.setContent(html);
  return { page, dialogs, close: () => context.close() };
}

/** Elements of the opened report that could run or fetch something (none expected), as "tag attr". */
async function activeParts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    for (const el of document.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      if (['script', 'img', 'iframe', 'object', 'embed', 'link', 'base', 'image', 'use', 'foreignobject'].includes(tag)) found.push(tag);
      for (const a of el.attributes) {
        if (/^(on|src|href|xlink:href|srcset|action|formaction)/i.test(a.name) || /url\s*\(/i.test(a.value)) found.push(`${tag} ${a.name}`);
      }
      if (tag === 'style' && /url\s*\(|@import/i.test(el.textContent ?? '')) found.push('style url()');
    }
    return found;
  });
}

test('presentation reports: a loop and a SELF round, each one self-contained HTML file with its figures, hostile text shown as text', async ({ page, browser }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openApp(page);
  await page.getByTestId('create-toy-experiment').click();
  await expect(page.getByTestId('showcase-note')).toContainText('Chosen by running the model', { timeout: 120_000 });

  // A short SELF round for the second scene (its figures are what the SELF report must hold).
  await page.getByTestId('tab-self').click();
  await setNumbers(page, { 'self-rounds': 1, 'self-per-round': 16, 'self-eval-count': 16, 'self-batch': 16, 'self-mix-feedback': 8, 'self-mix-refine': 2 });
  await page.getByTestId('save-self-settings').click();
  await expect(page.getByTestId('save-self-settings')).toBeDisabled();

  // The loop, step by step, to its end.
  await page.getByTestId('present-open').click();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('present-next')).toBeVisible({ timeout: 60_000 });
  while (!(await page.getByTestId('present-loop-done').isVisible())) {
    if (await page.getByTestId('present-next').isVisible()) await page.keyboard.press('Space');
    await page.waitForTimeout(300);
  }
  await expect(page.getByTestId('present-loop-report')).toBeVisible();

  // Seed hostile text where the report reads it: the draft (a model output) and the task's text.
  const [loopRun] = (await readRows<RunRow>(page, 'runs')).filter((r) => r.kind === 'refine');
  const steps = (await readRows<StepRow>(page, 'steps')).filter((s) => s.runId === loopRun.id).sort((a, b) => a.createdAt - b.createdAt);
  expect(steps.map((s) => s.kind).slice(0, 3)).toEqual(['draft', 'feedback', 'refinement']);
  const draft = { ...steps[0], text: `${steps[0].text}\n${IMG} ${SCRIPT}` };
  await putRows(page, 'steps', [draft]);
  const tasks = await readRows<{ id: string; prompt: string }>(page, 'tasks');
  const task = tasks.find((t) => steps[0].loopId === `${loopRun.id}/${t.id}`)!;
  await putRows(page, 'tasks', [{ ...task, prompt: `${task.prompt} ${IMG}` }]);

  const loop = await downloadText(page, 'present-loop-report');
  expect(loop.name).toMatch(/^toy-arithmetic-offline-refine-[\d-]+\.html$/);
  selfContained(loop.html);
  {
    const { page: r, dialogs, close } = await openReport(browser, loop.html);
    expect(await activeParts(r)).toEqual([]);
    // The hostile strings are there as text: in the title, the task's heading and the draft.
    await expect(r.locator('h2').first()).toHaveText(`${task.prompt} ${IMG}`);
    const pres = await r.locator('section.loop pre').allTextContents();
    // Every stored step of the loop, in order, as written (the draft with the seeded text).
    expect(pres).toEqual([draft.text, ...steps.slice(1).map((s) => s.text)]);
    await expect(r.locator('section.loop h3')).toHaveText(steps.map((s) => (s.kind === 'draft' ? 'First answer (draft)' : s.kind === 'feedback' ? 'Feedback on it' : /^Refined answer/)));
    await expect(r.locator('section.loop p.muted')).toHaveText(/^Stopped: /);
    expect(await r.evaluate(() => document.body.innerText)).toContain(IMG);
    expect(dialogs).toEqual([]);
    await close();
  }

  // The SELF round, as a story, to its end; then its report, with a hostile experiment name.
  // (Clicked, not Space: the report button just clicked holds the focus.)
  await page.getByTestId('present-scene-self').click();
  await page.getByTestId('present-start-self').click();
  await expect(page.getByTestId('present-self')).toHaveAttribute('data-stage', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('present-self-report')).toBeVisible();
  const [selfRun] = (await readRows<RunRow>(page, 'runs')).filter((r) => r.kind === 'self');
  expect(selfRun.metrics.map((m) => m.round)).toEqual([0, 1]);
  const [experiment] = await readRows<{ id: string; name: string }>(page, 'experiments');
  await putRows(page, 'experiments', [{ ...experiment, name: `Class ${IMG}` }]);

  const self = await downloadText(page, 'present-self-report');
  expect(self.name).toMatch(/^class-img-src-x-onerror-alert-1-self-[\d-]+\.html$/);
  selfContained(self.html);
  expect(self.html).toMatch(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox=/);
  {
    const { page: r, dialogs, close } = await openReport(browser, self.html);
    expect(await activeParts(r)).toEqual([]);
    await expect(r.locator('p.muted').first()).toContainText(`Class ${IMG} · `);
    // The chart is inline SVG: a line per series (direct, with self-refinement) through a point per evaluated
    // round, higher on the page where the accuracy is higher.
    const svg = r.locator('figure svg');
    await expect(svg).toHaveCount(1);
    const lines = await svg.locator('path').evaluateAll((ps) => ps.map((p) => [...(p.getAttribute('d') ?? '').matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => Number(m[2]))));
    expect(lines).toHaveLength(2);
    (['directAccuracy', 'refinedAccuracy'] as const).forEach((key, i) => {
      const acc = selfRun.metrics.map((m) => m[key] ?? NaN);
      expect(lines[i]).toHaveLength(acc.length);
      expect(Math.sign(lines[i][0] - lines[i][1])).toBe(Math.sign(acc[1] - acc[0]));
    });
    // The run's figures: held-out questions, and each round's accuracies as stored.
    await expect(r.locator('dl')).toContainText(`Held-out questions per evaluation${selfRun.metrics[0].evalTasks}`);
    const pct = (v: number | undefined) => `${Math.round((v ?? NaN) * 100)} %`;
    const rows = await r.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((row) => row.slice(0, 3))).toEqual(selfRun.metrics.map((m) => [String(m.round), pct(m.directAccuracy), pct(m.refinedAccuracy)]));
    expect(dialogs).toEqual([]);
    await close();
  }
});
