/**
 * The tfjs runtime's numbers in Chromium, on tfjs-wasm and on WebGPU (SwiftShader): logits and greedy tokens
 * (with and without the KV cache, with and without the PEFT adapter) against ../shared/fixtures' reference.json.
 * Models come from the hub stand-in; the page is the runtime harness (tests/e2e/harness), cross-origin isolated.
 */
import { expect, test, type Page } from '@playwright/test';
import { FIXTURE_MODELS } from '../fixtures/paths.ts';
import { maxAbsDiff, reference } from '../fixtures/reference.ts';
import { HUB, openRuntimeHarness } from './helpers/servers.ts';


test.describe.configure({ mode: 'serial' });

let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await openRuntimeHarness(page);
});
test.afterAll(async () => {
  await page.close();
});

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`${backend}: logits within 1e-3 and greedy tokens equal reference.json, base and adapted, cached and uncached`, async () => {
    const info = await page.evaluate((b) => window.runtime.useBackend(b), backend);
    expect(info.name).toBe(backend);
    expect(info.crossOriginIsolated).toBe(true);
    if (backend === 'wasm') {
      // Every core (the app's default): the threaded build when there are two or more, and our kernels, which
      // then decode every base-model row below (adapted rows run on tfjs ops).
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(info.threads).toBe(Math.min(cores, 8));
      expect(info.threadedBuild).toBe(cores > 1);
      expect(info.kernels).toMatch(/^loaded/);
    }
    test.info().annotations.push({ type: 'backend', description: JSON.stringify(info) });
    const before = await page.evaluate(() => window.runtime.numTensors());
    for (const name of FIXTURE_MODELS) {
      const ref = reference(name);
      for (const adapter of [false, true]) {
        const run = await page.evaluate(
          ({ r, work }) => window.runtime.runFixture(r, work),
          { r: { hub: HUB, repo: `fixtures/${name}`, adapter }, work: { logitsOf: ref.input_ids, greedyFrom: ref.greedy_prompt, greedyTokens: 8 } },
        );
        const label = `${backend} ${name}${adapter ? ' + adapter' : ''}`;
        expect(maxAbsDiff(run.logits, adapter ? ref.logits_adapted : ref.logits_base), label).toBeLessThan(1e-3);
        const want = adapter ? ref.greedy_adapted : ref.greedy_base;
        expect(run.greedy?.cached, `${label} (KV cache)`).toEqual(want);
        expect(run.greedy?.uncached, `${label} (no cache)`).toEqual(want);
      }
    }
    // Everything loaded was released again.
    expect(await page.evaluate(() => window.runtime.numTensors())).toBe(before);
  });
}
