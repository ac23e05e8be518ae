/** Layout checks for a projector's window: nothing scrolls sideways, the controls a person needs are on screen. */
import { expect, type Locator, type Page } from '@playwright/test';

/** The page is no wider than the window (no sideways scrolling). */
export async function fitsWidth(page: Page): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}

/** On screen now, without scrolling: the whole box lies between the window's top and bottom edges. */
export async function inView(page: Page, el: Locator): Promise<void> {
  const box = await el.boundingBox();
  const h = page.viewportSize()?.height ?? 0;
  expect(box, 'the control is laid out').not.toBeNull();
  expect(box!.y).toBeGreaterThanOrEqual(0);
  expect(box!.y + box!.height).toBeLessThanOrEqual(h);
}
