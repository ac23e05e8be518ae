import { existsSync } from 'node:fs';

/** The Chromium that Playwright drives: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}
