/**
 * The toy model's defaults explained, one line each, in the folded settings of the SELF and SRT tabs
 * (self-toy-notes, self-train-toy-notes, srt-toy-notes, srt-sft-toy-notes, srt-dpo-toy-notes): hidden while the
 * settings are folded, visible once unfolded, one "setting: value — why" line per default with no setting named
 * twice, the values those of the form's own fields; and absent for an experiment on another model.
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { createExperiment, openApp } from './helpers/app.ts';
import { loadTinyLlama, TOY_BUILT } from './pipeline-helpers.ts';

const SELF_NOTES = ['self-toy-notes', 'self-train-toy-notes'];
const SRT_NOTES = ['srt-toy-notes', 'srt-sft-toy-notes', 'srt-dpo-toy-notes'];

/** The settings' <summary> of the tab on screen. */
const summary = (page: Page, name: 'SELF' | 'SRT'): Locator => page.locator('summary', { hasText: `${name} settings` });

/** Each line of a notes block as { setting, value }, after checking it is one visible line of the right form. */
async function noteLines(page: Page, testid: string): Promise<Map<string, string>> {
  const block = page.getByTestId(testid);
  await expect(block).toBeVisible();
  const items = block.getByTestId(`${testid}-line`);
  const texts = (await items.allInnerTexts()).map((t) => t.trim());
  expect(texts.length, `${testid}: lines`).toBeGreaterThanOrEqual(3);
  // One list item per default, each as "setting: value — why" (no line holding two defaults, none empty).
  expect(await block.locator('li').count()).toBe(texts.length);
  const lines = new Map<string, string>();
  for (const t of texts) {
    const m = /^([^:\n]+): ([^\n]+?) — ([^\n]{10,})$/.exec(t);
    expect(m, `${testid}: "${t}"`).not.toBeNull();
    expect(lines.has(m![1]), `${testid}: "${m![1]}" named twice`).toBe(false);
    lines.set(m![1], m![2]);
  }
  return lines;
}

async function value(page: Page, testid: string): Promise<string> {
  return page.getByTestId(testid).inputValue();
}

/** Each notes block is on the page once, and hidden while its settings are folded. */
async function hiddenWhileFolded(page: Page, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await expect(page.getByTestId(id)).toHaveCount(1);
    await expect(page.getByTestId(id)).toBeHidden();
  }
}

test('toy experiment: every toy default explained in one line, matching the form; none on another model', async ({ page }) => {
  test.skip(!TOY_BUILT, 'needs the built toy model');
  await page.setViewportSize({ width: 1280, height: 720 });
  await openApp(page);
  await page.getByTestId('create-toy-experiment').click();
  await expect(page.getByTestId('actor-ready')).toContainText('toy-arith', { timeout: 60_000 });

  // SELF: folded, the notes are not shown; unfolded, each line gives the value its field holds.
  await page.getByTestId('tab-self').click();
  await hiddenWhileFolded(page, SELF_NOTES);
  await summary(page, 'SELF').click();
  const self = await noteLines(page, 'self-toy-notes');
  expect(self.get('SELF rounds')).toBe(await value(page, 'self-rounds'));
  expect(self.get('Held-out prompts')).toBe(await value(page, 'self-eval-count'));
  expect(self.get('Batch size')).toBe(await value(page, 'self-batch'));
  expect(self.get('Train prompts per round')).toMatch(new RegExp(`^${await value(page, 'self-per-round')}, new ones each round$`));
  const selfTrain = await noteLines(page, 'self-train-toy-notes');
  expect(selfTrain.get('LoRA')).toMatch(new RegExp(`^rank ${await value(page, 'self-train-r')}, alpha ${await value(page, 'self-train-alpha')},`));
  expect(selfTrain.get('Batches and optimizer')).toMatch(new RegExp(`^batch ${await value(page, 'self-train-batch')},`));
  expect(selfTrain.get('Sequence length')).toMatch(new RegExp(`^${await value(page, 'self-train-seqlen')} tokens`));
  await page.getByTestId('self-toy-notes').scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('self-toy-notes.png') });

  // SRT: the same, for its own defaults and its SFT and DPO training.
  await page.getByTestId('tab-srt').click();
  await hiddenWhileFolded(page, SRT_NOTES);
  await summary(page, 'SRT').click();
  const srt = await noteLines(page, 'srt-toy-notes');
  expect(srt.get('Train prompts reviewed')).toBe(await value(page, 'srt-prompts'));
  expect(srt.get('Held-out prompts')).toBe(await value(page, 'srt-eval-count'));
  const sft = await noteLines(page, 'srt-sft-toy-notes');
  expect(sft.get('LoRA')).toMatch(new RegExp(`^rank ${await value(page, 'srt-sft-r')}, alpha ${await value(page, 'srt-sft-alpha')},`));
  const dpo = await noteLines(page, 'srt-dpo-toy-notes');
  expect(dpo.get('DPO β')).toMatch(new RegExp(`^${(await value(page, 'srt-dpo-beta')).replace('.', '\\.')}(,|$)`)); // the β, then the RPO term where one is set
  await page.getByTestId('srt-toy-notes').scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('srt-toy-notes.png') });

  // Another model (tiny-llama from the hub stand-in): the same tabs, unfolded, hold no toy notes.
  await page.goto('/#/');
  const id = await createExperiment(page, 'Not the toy');
  await page.goto(`/#/experiments/${id}/playground`);
  await loadTinyLlama(page);
  for (const [tab, name, field, notes] of [['tab-self', 'SELF', 'self-rounds', SELF_NOTES], ['tab-srt', 'SRT', 'srt-prompts', SRT_NOTES]] as const) {
    await page.getByTestId(tab).click();
    await summary(page, name).click();
    await expect(page.getByTestId(field)).toBeVisible();
    for (const n of notes) await expect(page.getByTestId(n)).toHaveCount(0);
  }
});
