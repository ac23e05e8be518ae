/**
 * The Evaluation tab's bench reference (BenchReference.svelte) says which weights its numbers were measured on:
 * "on this model" only when self_eval.json (and srt_eval.json) name the SHA-256 of the toy weights the app
 * serves; "other weights" when they name others; "unknown version" for a record without the fingerprint; and
 * SRT's rows leave the table when SRT and SELF name different weights. The records are served by page.route
 * (the committed self_eval.json with its `weights` field set, changed or removed); the page hashes the real
 * public/models/toy-arith/model.safetensors.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { openApp } from './helpers/app.ts';
import { TOY_BUILT } from './pipeline-helpers.ts';

const TOY = 'public/models/toy-arith';

test('bench reference: this model, other weights, unknown version, and SRT on other weights than SELF', async ({ page }) => {
  test.skip(!TOY_BUILT, 'needs the built toy model');
  const bytes = readFileSync(`${TOY}/model.safetensors`);
  const loaded = { file: 'model.safetensors', sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  const other = { ...loaded, sha256: createHash('sha256').update('older weights').digest('hex') };
  const { weights: _w, ...committed } = JSON.parse(readFileSync(`${TOY}/self_eval.json`, 'utf8')) as { weights?: unknown; results: { seed: number }[] };
  const scores = { direct: 0.5, refined: 0.6, verdict: 0.7, caught: 0.8, falseAlarm: 0.1 };
  const srtRecord = (weights: unknown) => ({
    command: 'npm run bench -- --only toy-srt',
    settings: {},
    weights,
    results: committed.results.map((r) => ({ seed: r.seed, base: scores, runs: [{ variant: 'feedback', sftRows: 1, preferencePairs: 1, loops: 1, kept: 1, sft: scores, dpo: scores, seconds: 1 }] })),
  });
  let self: unknown = committed;
  let srt: unknown = null;
  await page.route('**/models/toy-arith/self_eval.json', (r) => r.fulfill({ json: self }));
  await page.route('**/models/toy-arith/srt_eval.json', (r) => (srt ? r.fulfill({ json: srt }) : r.fulfill({ status: 404, body: 'not found' })));

  await openApp(page);
  await page.getByTestId('create-toy-experiment').click();
  await expect(page.getByTestId('experiment-title')).toHaveText('Toy arithmetic (offline)');
  const show = async (p: Page) => {
    await p.reload();
    await p.getByTestId('tab-evaluation').click();
    const reference = p.getByTestId('bench-reference');
    await expect(reference).toHaveCount(1);
    return { reference, summary: reference.locator('summary').first(), line: (file: string) => reference.locator(`[data-testid="bench-weights"] li[data-file="${file}"]`) };
  };

  // A record without the fingerprint (written before it existed): unknown version, never "this model".
  let v = await show(page);
  await expect(v.reference).toHaveAttribute('data-weights', 'unknown');
  await expect(v.summary).toContainText('Reference: SELF and SRT on weights of unknown version, from npm run bench');
  await expect(v.summary).not.toContainText('this model');
  await v.summary.click();
  await expect(v.line('self_eval.json')).toHaveAttribute('data-match', 'unknown');
  await expect(v.line('self_eval.json')).toContainText('measured on weights of unknown version');
  await expect(v.line('srt_eval.json')).toHaveCount(0);

  // The loaded weights, SELF and SRT: this model, and SRT's rows in the table.
  self = { ...committed, weights: loaded };
  srt = srtRecord(loaded);
  v = await show(page);
  await expect(v.reference).toHaveAttribute('data-weights', 'same');
  await expect(v.summary).toContainText('Reference: SELF and SRT on this model, from npm run bench');
  await v.summary.click();
  await expect(v.line('self_eval.json')).toContainText(`measured on this model's weights, the ones the app loads (model.safetensors SHA-256 ${loaded.sha256.slice(0, 12)}…)`);
  await expect(v.line('srt_eval.json')).toHaveAttribute('data-match', 'same');
  await expect(v.reference.locator('[data-testid="bench-comparison-row"][data-key="srt.feedback.sft"]')).toHaveCount(1);
  await expect(v.reference.getByTestId('bench-weights-split')).toHaveCount(0);

  // Older weights: said plainly, with both fingerprints.
  self = { ...committed, weights: other };
  srt = null;
  v = await show(page);
  await expect(v.reference).toHaveAttribute('data-weights', 'other');
  await expect(v.summary).toContainText('Reference: SELF and SRT on other weights than this model, from npm run bench');
  await v.summary.click();
  await expect(v.line('self_eval.json')).toContainText(`measured on other weights (SHA-256 ${other.sha256.slice(0, 12)}…) than the ones the app loads for this model (${loaded.sha256.slice(0, 12)}…): not this model's numbers.`);

  // SELF on these weights, SRT on others: SRT is named as such and left out of the table.
  self = { ...committed, weights: loaded };
  srt = srtRecord(other);
  v = await show(page);
  await expect(v.reference).toHaveAttribute('data-weights', 'other');
  await v.summary.click();
  await expect(v.line('self_eval.json')).toHaveAttribute('data-match', 'same');
  await expect(v.line('srt_eval.json')).toHaveAttribute('data-match', 'other');
  await expect(v.reference.getByTestId('bench-weights-split')).toBeVisible();
  await expect(v.reference.locator('[data-testid="bench-comparison-row"][data-key^="srt."]')).toHaveCount(0);
  await expect(v.reference.locator('[data-testid="bench-comparison-row"][data-key="base"]')).toHaveCount(1);
  await page.screenshot({ path: test.info().outputPath('bench-reference-weights.png'), fullPage: true });
});
