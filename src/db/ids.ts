/**
 * Row ids: time-ordered UUIDs (the RFC 9562 version 7 layout: 48-bit Unix milliseconds, then a 12-bit counter,
 * then random bits), written as lowercase hex with dashes.
 *
 * Why time-ordered: IndexedDB returns rows in primary-key order, so ids made one after another sort in the
 * order they were made. Steps of a run, tasks of a set and samples therefore list in creation order with no
 * extra sort field, and an import that assigns fresh ids in the bundle's row order keeps that order.
 * Within one page (or worker) ids are strictly increasing: when two ids fall in the same millisecond the
 * counter goes up, and when the counter runs out the timestamp is advanced by one.
 */

let lastMs = -1;
let counter = 0;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return bytes;
}

export function newId(now: number = Date.now()): string {
  let ms = Math.max(Math.floor(now), lastMs);
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      ms++;
      counter = 0;
    }
  } else {
    // Start each millisecond at a small random counter so ids from two tabs rarely share a prefix.
    counter = randomBytes(1)[0] & 0x3f;
  }
  lastMs = ms;
  const r = randomBytes(8);
  const timeHex = hex(ms, 12); // 48 bits of milliseconds
  const variantHi = (0x80 | (r[0] & 0x3f)).toString(16); // 10xx xxxx
  const rest = Array.from(r.subarray(1), (b) => hex(b, 2)).join(''); // 7 random bytes = 14 hex digits
  return (
    `${timeHex.slice(0, 8)}-${timeHex.slice(8, 12)}-7${hex(counter, 3)}-` +
    `${variantHi}${rest.slice(0, 2)}-${rest.slice(2, 14)}`
  );
}

/** The shape every id in the database and in bundles has (also accepts random UUIDs from other tools). */
export const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
