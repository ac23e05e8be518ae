/**
 * Loading in Chromium: the Cache API keeps downloaded files (a second load makes no request, checked with the
 * hub stand-in's /stats); a folder picked with <input type=file webkitdirectory>; the runtime in a module worker.
 */
import { expect, test, type Page } from '@playwright/test';
import { modelDir, reference } from '../fixtures/reference.ts';
import { HUB, openRuntimeHarness } from './helpers/servers.ts';

async function hubRequests(page: Page, repo: string): Promise<number> {
  const stats = (await (await page.request.get(`${HUB}/stats`)).json()) as Record<string, number>;
  return Object.entries(stats)
    .filter(([path]) => path.startsWith(`/${repo}/`))
    .reduce((n, [, c]) => n + c, 0);
}

test('Cache API: the second load of a model makes no request to the hub', async ({ page }) => {
  await openRuntimeHarness(page);
  await page.evaluate(() => caches.delete('studio/models'));
  await page.evaluate(() => window.runtime.useBackend('wasm'));
  const ref = reference('tiny-qwen2');
  const r = { hub: HUB, repo: 'fixtures/tiny-qwen2', adapter: true, cacheApi: true };
  const before = await hubRequests(page, 'fixtures/tiny-qwen2');
  const first = await page.evaluate(({ r, p }) => window.runtime.runFixture(r, { greedyFrom: p }), { r, p: ref.greedy_prompt });
  expect(first.greedy?.cached).toEqual(ref.greedy_adapted);
  const afterFirst = await hubRequests(page, 'fixtures/tiny-qwen2');
  expect(afterFirst - before).toBeGreaterThanOrEqual(5); // config, tokenizer files, weights, adapter files…
  // A fresh page (same profile): the cached files survive reloads.
  await page.reload();
  await expect(page.locator('#status')).toHaveText('ready');
  await page.evaluate(() => window.runtime.useBackend('wasm'));
  const second = await page.evaluate(({ r, p }) => window.runtime.runFixture(r, { greedyFrom: p }), { r, p: ref.greedy_prompt });
  expect(second.greedy?.cached).toEqual(ref.greedy_adapted);
  expect(await hubRequests(page, 'fixtures/tiny-qwen2')).toBe(afterFirst);
  const cached = await page.evaluate(async () => (await (await caches.open('studio/models')).keys()).map((k) => k.url));
  expect(cached.some((u) => u.endsWith('/fixtures/tiny-qwen2/resolve/main/model.safetensors'))).toBe(true);
});

test('a picked model folder (webkitdirectory) loads and decodes the reference tokens', async ({ page }) => {
  await openRuntimeHarness(page);
  await page.evaluate(() => window.runtime.useBackend('wasm'));
  await page.locator('#pick').setInputFiles(modelDir('tiny-llama'));
  const ref = reference('tiny-llama');
  const r = await page.evaluate((p) => window.runtime.greedyFromPicked(p, 8), ref.greedy_prompt);
  expect(r.files).toBe(4); // config, weights, tokenizer.json, tokenizer_config.json
  expect(r.label).toBe('the folder model');
  expect(r.tokens).toEqual(ref.greedy_base);
});

test('the runtime runs in a module worker (no DOM): single-threaded wasm, adapter applied', async ({ page }) => {
  await openRuntimeHarness(page);
  const ref = reference('tiny-llama');
  const r = await page.evaluate(
    ({ hub, p }) => window.runtime.inWorker({ backend: 'wasm', threads: 1, fixture: { hub, repo: 'fixtures/tiny-llama', adapter: true }, greedyFrom: p }),
    { hub: HUB, p: ref.greedy_prompt },
  );
  expect(r.hasDocument).toBe(false);
  expect(r.run.backend).toMatchObject({ name: 'wasm', threads: 1, simd: true });
  expect(r.run.greedy?.cached).toEqual(ref.greedy_adapted);
  expect(r.run.greedy?.uncached).toEqual(ref.greedy_adapted);
  test.info().annotations.push({ type: 'worker backend', description: JSON.stringify(r.run.backend) });
});
