/**
 * The web-llm engine's wiring in Chromium, without downloading a model: the real workers/webllm.worker.ts
 * (web-llm inside, our protocol outside) booted from tests/e2e/harness-engines, on the SwiftShader WebGPU
 * adapter that --enable-unsafe-webgpu gives (no shader-f16), and in a browser without WebGPU.
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { chromiumPath } from '../scripts/chromium-path.ts';
import { ENGINES_HARNESS, HUB } from './helpers/servers.ts';


async function openHarness(page: Page): Promise<void> {
  await page.goto(`${ENGINES_HARNESS}/`);
  await expect(page.locator('#status')).toHaveText('ready');
}

test.describe('web-llm engine in Chromium (no model download)', () => {
  test('the real worker boots; the adapter lacks shader-f16, so the catalog picks q4f32_1', async ({ page }) => {
    await openHarness(page);
    const r = await page.evaluate(() => window.engineHarness.probe('qwen2.5-0.5b'));
    expect(r.error).toBeNull();
    const v = r.value!;
    expect(v.worker.available).toBe(true);
    expect(v.worker.features).not.toContain('shader-f16');
    // The worker sees the same adapter as the page.
    expect(v.worker.features).toEqual(v.page.features);
    expect(v.webllmId).toBe('Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
    expect(v.reason).toContain('lacks the WebGPU feature shader-f16');
  });

  test('loading from a server without the files fails with a typed network error, fetching nothing remote', async ({ page }) => {
    const remote: string[] = [];
    const all: string[] = [];
    page.on('request', (req) => {
      all.push(req.url());
      const u = new URL(req.url());
      if (u.hostname !== 'localhost' && u.hostname !== '127.0.0.1') remote.push(req.url());
    });
    await openHarness(page);
    // The hub stand-in answers 404 for these paths.
    const missing = await page.evaluate((base) => window.engineHarness.loadFrom('smollm2-360m', base), `${HUB}/nothing-here`);
    expect(missing.ok).toBe(false);
    expect(missing.error).toMatchObject({ code: 'network', typed: true });
    expect(missing.error!.message).toContain('Could not download SmolLM2-360M-Instruct-q4f32_1-MLC');
    expect(missing.error!.message).toContain(`the files come from localhost:${new URL(HUB).port}`);
    // Nothing listens on port 9: the connection is refused.
    const refused = await page.evaluate(() => window.engineHarness.loadFrom('smollm2-135m', 'http://127.0.0.1:9'));
    expect(refused.error).toMatchObject({ code: 'network', typed: true });
    expect(refused.error!.message).toContain('Could not download SmolLM2-135M-Instruct-q0f32-MLC');
    // The worker's requests are seen here (so "nothing remote" means something): web-llm asked for the config.
    expect(all).toContain(`${HUB}/nothing-here/SmolLM2-360M-Instruct-q4f32_1-MLC/resolve/main/mlc-chat-config.json`);
    expect(remote).toEqual([]);
  });

  test('lists cached and partly downloaded models and deletes them in the Cache API, offline', async ({ page }) => {
    const remote: string[] = [];
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.hostname !== 'localhost' && u.hostname !== '127.0.0.1') remote.push(req.url());
    });
    await openHarness(page);
    const r = await page.evaluate((base) => window.engineHarness.cache('smollm2-360m', base), `${HUB}/mirror`);
    expect(r.error).toBeNull();
    const v = r.value!;
    expect(v.count).toBeGreaterThanOrEqual(20);
    expect(v.present).toEqual([
      { webllmId: v.full, cached: true, entries: 5 },
      { webllmId: 'Qwen3-0.6B-q4f32_1-MLC', cached: false, entries: 1 },
    ]);
    expect(v.removedFull).toBe(5);
    expect(v.removedPartial).toBe(1);
    expect(v.after.every((m) => !m.cached && m.entries === 0)).toBe(true);
    expect(v.left).toBe(0);
    expect(remote).toEqual([]);
  });

  test('chat before a model is loaded is a typed error', async ({ page }) => {
    await openHarness(page);
    const r = await page.evaluate(() => window.engineHarness.chatWithoutModel());
    expect(r.error).toMatchObject({ code: 'engine', typed: true, message: expect.stringContaining('Load a model first') });
  });

  test('a worker that crashes rejects the pending call with a typed error', async ({ page }) => {
    await openHarness(page);
    const r = await page.evaluate(() => window.engineHarness.crash());
    expect(r.error).toMatchObject({ code: 'engine', typed: true, message: expect.stringContaining('the crash-test worker crashed') });
  });
});

test('without WebGPU the engine explains what to do instead of failing obscurely', async () => {
  // Debian's Chromium without --enable-unsafe-webgpu offers no WebGPU adapter.
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
  try {
    const page = await browser.newPage();
    await openHarness(page);
    const probe = await page.evaluate(() => window.engineHarness.probe('qwen2.5-0.5b'));
    expect(probe.error).toMatchObject({ code: 'webgpu-unavailable', typed: true });
    expect(probe.error!.message).toContain('Use the tfjs engine on the wasm backend');
    const load = await page.evaluate((base) => window.engineHarness.loadFrom('qwen2.5-0.5b', base), `${HUB}/nothing-here`);
    expect(load.error).toMatchObject({ code: 'webgpu-unavailable', typed: true });
  } finally {
    await browser.close();
  }
});
