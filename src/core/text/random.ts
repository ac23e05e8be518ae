/** A small seeded generator (mulberry32): the same seed gives the same sampled tokens on every platform. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let a = (Math.floor(seed) >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for callers that gave none (then sampling is not reproducible, as asked). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
