import { expect, test } from '@playwright/test';

test('served cross-origin isolated with a strict CSP, WebGPU adapter present', async ({ page }) => {
  // The settings page shows the environment, including cross-origin isolation.
  const response = await page.goto('/#/settings');
  const headers = response?.headers() ?? {};
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
  expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  await expect(page.getByTestId('isolation')).toHaveText('cross-origin isolated: yes');
  const hasAdapter = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return !!(gpu && (await gpu.requestAdapter()));
  });
  expect(hasAdapter).toBe(true);
});
