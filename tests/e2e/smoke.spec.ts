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

test('the CSP blocks inline and remote scripts in the page (what a hostile name or file could try)', async ({ page }) => {
  await page.goto('/#/settings');
  const csp = (await page.request.get('/')).headers()['content-security-policy'] ?? '';
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src')) ?? '';
  expect(scriptSrc.split(/\s+/).slice(1).sort()).toEqual(["'self'", "'wasm-unsafe-eval'"]);
  // (Code that Playwright evaluates is exempt from the eval rule, so only script elements and handlers are tried.)
  const outcome = await page.evaluate(
    () =>
      new Promise<{ blocked: string[]; inlineRan: boolean; handlerRan: boolean }>((resolve) => {
        const blocked: string[] = [];
        const w = window as Window & { __inlineRan?: boolean; __handlerRan?: boolean };
        document.addEventListener('securitypolicyviolation', (e) => blocked.push(`${e.effectiveDirective} ${e.blockedURI}`));
        const inline = document.createElement('script');
        inline.textContent = 'window.__inlineRan = true;';
        document.head.append(inline);
        const remote = document.createElement('script');
        remote.src = 'https://cdn.example.com/evil.js';
        document.head.append(remote);
        const img = document.createElement('img');
        img.setAttribute('onerror', 'window.__handlerRan = true');
        img.src = 'data:image/png;base64,AAAA'; // not an image: fires error
        document.body.append(img);
        setTimeout(() => {
          img.remove();
          resolve({ blocked, inlineRan: w.__inlineRan === true, handlerRan: w.__handlerRan === true });
        }, 500);
      }),
  );
  expect(outcome.inlineRan).toBe(false);
  expect(outcome.handlerRan).toBe(false);
  expect(outcome.blocked).toEqual(
    expect.arrayContaining(['script-src-elem inline', 'script-src-elem https://cdn.example.com/evil.js', 'script-src-attr inline']),
  );
});
