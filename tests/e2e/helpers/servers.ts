/** The servers the Playwright config starts besides the app (ports from the same environment variables). */
import { expect, type Page } from '@playwright/test';

/** The Hugging Face hub stand-in (tests/fixtures/hub-server.ts). */
export const HUB = `http://localhost:${process.env.E2E_HUB_PORT ?? 4180}`;
/** The runtime harness (tests/e2e/harness): window.runtime, window.tfjsHarness. */
export const RUNTIME_HARNESS = `http://localhost:${process.env.E2E_RUNTIME_PORT ?? 4181}`;
/** The engine harness (tests/e2e/harness-engines). */
export const ENGINES_HARNESS = `http://localhost:${process.env.E2E_ENGINES_PORT ?? 4183}`;

/** Opens the runtime harness, logging page errors, and waits until it is ready. */
export async function openRuntimeHarness(page: Page): Promise<void> {
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${RUNTIME_HARNESS}/`);
  await expect(page.locator('#status')).toHaveText('ready');
}
