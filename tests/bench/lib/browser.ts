/**
 * Runs suites in Chromium: builds the runtime harness (which bundles tests/bench/suites), serves it with `vite preview`
 * (cross-origin isolated, like the app), launches Chromium with tests/e2e/playwright.config.ts's flags, and calls
 * `window.bench.run(name, options)` in the page.
 */
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { build, preview } from 'vite';
import config from '../../e2e/playwright.config.ts';
import { chromiumPath } from '../../scripts/chromium-path.ts';
import type { SuiteRow } from './types.ts';

const HARNESS_CONFIG = resolve(import.meta.dirname, '../../e2e/harness/vite.config.ts');

export interface BrowserSession {
  version: string;
  run(suite: string, options: Record<string, string | boolean>): Promise<SuiteRow[]>;
  /** The same in a harness page of its own, closed after (a page's tfjs-wasm thread count is fixed once it starts). */
  runInNewPage(suite: string, options: Record<string, string | boolean>): Promise<SuiteRow[]>;
  /** A new page of this browser, for pages served elsewhere (the caller closes it). */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function openBrowser(log: (line: string) => void): Promise<BrowserSession> {
  log('building the runtime harness…');
  await build({ configFile: HARNESS_CONFIG, logLevel: 'warn' });
  const port = await freePort();
  const server = await preview({ configFile: HARNESS_CONFIG, logLevel: 'warn', preview: { port, strictPort: true } });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: config.use?.launchOptions?.args ?? [] });
  const page = await harnessPage(browser, port, log);
  const run = (p: Page, suite: string, options: Record<string, string | boolean>) => p.evaluate(({ suite, options }) => window.bench.run(suite, options), { suite, options });
  return {
    version: browser.version(),
    run: (suite, options) => run(page, suite, options),
    async runInNewPage(suite, options) {
      const fresh = await harnessPage(browser, port, log);
      try {
        return await run(fresh, suite, options);
      } finally {
        await fresh.close();
      }
    },
    newPage: () => browser.newPage(),
    async close() {
      await browser.close();
      await new Promise<void>((done) => server.httpServer.close(() => done()));
    },
  };
}

/** The runtime harness in a new page, ready, its bench log lines and errors passed to `log`. */
async function harnessPage(browser: Browser, port: number, log: (line: string) => void): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    const text = m.text();
    if (text.startsWith('[bench] ')) log(`  chromium: ${text.slice(8)}`);
  });
  page.on('pageerror', (e) => log(`  chromium page error: ${e.message}`));
  await page.goto(`http://localhost:${port}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  return page;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}
