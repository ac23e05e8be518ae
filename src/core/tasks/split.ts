import type { Split } from './types.ts';

/** FNV-1a, 32 bits, over the UTF-16 code units of `s`. Stable everywhere (no platform hashing). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A short hex digest, for ids derived from text. */
export function shortHash(s: string): string {
  // Two independent 32-bit hashes → 16 hex digits; collisions are negligible for a few thousand prompts.
  return fnv1a32(s).toString(16).padStart(8, '0') + fnv1a32(`\u0001${s}`).toString(16).padStart(8, '0');
}

/** The default share of tasks held out for evaluation. */
export const DEFAULT_EVAL_FRACTION = 0.25;

/** MurmurHash3's 32-bit finaliser: spreads FNV's weakly mixed high bits (similar ids → similar hashes). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Assigns train/eval from the id alone, so the same task always lands in the same split. */
export function assignSplit(id: string, evalFraction = DEFAULT_EVAL_FRACTION): Split {
  return mix32(fnv1a32(`split:${id}`)) / 0x1_0000_0000 < evalFraction ? 'eval' : 'train';
}
