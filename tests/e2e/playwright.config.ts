/**
 * Playwright: `npx playwright test -c tests/e2e/playwright.config.ts [spec…]` (what `npm run test:e2e` runs).
 * Playwright resolves testDir and outputDir against this file's folder and starts the web servers there by
 * default; the servers below run from the repository root instead (`cwd: ROOT`), where their commands live.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { chromiumPath } from '../scripts/chromium-path.ts';

/** The repository root. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PORT = Number(process.env.E2E_PORT ?? 4173);
const HUB_PORT = Number(process.env.E2E_HUB_PORT ?? 4180);
const ENGINES_PORT = Number(process.env.E2E_ENGINES_PORT ?? 4183);
const RUNTIME_PORT = Number(process.env.E2E_RUNTIME_PORT ?? 4181);

export default defineConfig({
  testDir: '.',
  // Screenshots and files the specs keep (test.info().outputPath), and traces of failed tests.
  outputDir: 'test-results',
  timeout: 180_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromiumPath(),
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    {
      // The built app, served by `vite preview` with the same headers as production.
      command: `npx vite preview --port ${PORT} --strictPort`,
      url: `http://localhost:${PORT}`,
      cwd: ROOT,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      // A stand-in for the Hugging Face hub: serves ../shared/fixtures and test models in the hub's URL layout.
      command: `npx tsx tests/fixtures/hub-server.ts --port ${HUB_PORT}`,
      url: `http://localhost:${HUB_PORT}/health`,
      cwd: ROOT,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
    },
    {
      // The engine harness (tests/e2e/harness-engines): the real engine workers outside the app UI, for
      // tests/e2e/engine-*.spec.ts. tests/scripts/test.sh rebuilds it; here it is built only when missing, so that
      // running any single spec still works.
      command:
        '(test -f tests/e2e/harness-engines/dist/index.html || npx vite build --config tests/e2e/harness-engines/vite.config.ts --logLevel warn) && ' +
        `npx vite preview --config tests/e2e/harness-engines/vite.config.ts --port ${ENGINES_PORT} --strictPort`,
      url: `http://localhost:${ENGINES_PORT}`,
      cwd: ROOT,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      // The runtime harness (tests/e2e/harness): the tfjs runtime and the bench suites on a bare page, for
      // tests/e2e/runtime-*.spec.ts. tests/scripts/test.sh rebuilds it; here it is built only when missing.
      command:
        '(test -f tests/e2e/harness/dist/index.html || npx vite build --config tests/e2e/harness/vite.config.ts --logLevel warn) && ' +
        `npx vite preview --config tests/e2e/harness/vite.config.ts --port ${RUNTIME_PORT} --strictPort`,
      url: `http://localhost:${RUNTIME_PORT}`,
      cwd: ROOT,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
  ],
});
