/**
 * Ports browsers refuse to fetch from (the Fetch standard's "bad ports"; Chromium answers net::ERR_UNSAFE_PORT
 * before anything leaves the browser). A fetch to one fails like an unreachable server, so the endpoint's error
 * says so instead of blaming the server or CORS. Checked in Debian's Chromium here: every port below is refused
 * except 4190 and 6679, which newer browsers block too.
 */
export const BROWSER_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The URL's port when browsers block it, else null (also for a URL that does not parse). */
export function blockedPort(url: string): number | null {
  try {
    const u = new URL(url);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.port === '') return null;
    const port = Number(u.port);
    return BROWSER_BLOCKED_PORTS.has(port) ? port : null;
  } catch {
    return null;
  }
}
