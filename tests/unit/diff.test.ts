import { describe, expect, it } from 'vitest';
import { diffStats, diffWords, wordTokens, type DiffPart } from '../../src/core/text/diff.ts';

const side = (parts: DiffPart[], keep: 'ins' | 'del') => parts.filter((p) => p.op === 'eq' || p.op === keep).map((p) => p.text).join('');

/** A tiny seeded generator so the random cases are the same every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x1_0000_0000);
}

describe('diffWords', () => {
  it('marks replaced, inserted and deleted words, keeping whitespace', () => {
    expect(diffWords('the cat sat on the mat', 'the dog sat on the mat')).toEqual([
      { op: 'eq', text: 'the ' },
      { op: 'del', text: 'cat' },
      { op: 'ins', text: 'dog' },
      { op: 'eq', text: ' sat on the mat' },
    ]);
    expect(diffWords('a b', 'a new b')).toEqual([
      { op: 'eq', text: 'a' },
      { op: 'ins', text: ' new' },
      { op: 'eq', text: ' b' },
    ]);
    expect(diffWords('keep this word', 'keep word')).toEqual([
      { op: 'eq', text: 'keep' },
      { op: 'del', text: ' this' },
      { op: 'eq', text: ' word' },
    ]);
    // Only whitespace changed.
    expect(diffWords('a b', 'a\nb')).toEqual([
      { op: 'eq', text: 'a' },
      { op: 'del', text: ' ' },
      { op: 'ins', text: '\n' },
      { op: 'eq', text: 'b' },
    ]);
    expect(diffWords('total is 41\n#### 41', 'total is 42\n#### 42')).toEqual([
      { op: 'eq', text: 'total is ' },
      { op: 'del', text: '41' },
      { op: 'ins', text: '42' },
      { op: 'eq', text: '\n#### ' },
      { op: 'del', text: '41' },
      { op: 'ins', text: '42' },
    ]);
  });

  it('folds a lone space between two changes into one replaced phrase', () => {
    expect(diffWords('x red fox y', 'x blue cat y')).toEqual([
      { op: 'eq', text: 'x ' },
      { op: 'del', text: 'red fox' },
      { op: 'ins', text: 'blue cat' },
      { op: 'eq', text: ' y' },
    ]);
  });

  it('handles empty and identical texts', () => {
    expect(diffWords('', '')).toEqual([]);
    expect(diffWords('', 'new text')).toEqual([{ op: 'ins', text: 'new text' }]);
    expect(diffWords('old text', '')).toEqual([{ op: 'del', text: 'old text' }]);
    expect(diffWords('same  here\n', 'same  here\n')).toEqual([{ op: 'eq', text: 'same  here\n' }]);
    expect(wordTokens(' a  b\n')).toEqual([' ', 'a', '  ', 'b', '\n']);
  });

  it('always reproduces both texts and finds a minimal edit (random cases)', () => {
    const next = rng(12345);
    const vocab = ['a', 'b', 'c', 'd', 'the', 'cat', '42', '####'];
    const seps = [' ', ' ', ' ', '\n', '  '];
    const make = (n: number) => Array.from({ length: n }, (_, i) => vocab[Math.floor(next() * vocab.length)] + (i < n - 1 ? seps[Math.floor(next() * seps.length)] : '')).join('');
    for (let i = 0; i < 200; i++) {
      const a = make(Math.floor(next() * 12));
      const b = make(Math.floor(next() * 12));
      const parts = diffWords(a, b);
      expect(side(parts, 'del')).toBe(a);
      expect(side(parts, 'ins')).toBe(b);
      // No empty parts, and no two neighbours with the same op.
      expect(parts.every((p) => p.text.length > 0)).toBe(true);
      for (let j = 1; j < parts.length; j++) expect(parts[j].op === parts[j - 1].op).toBe(false);
      // Minimal: kept words = the longest common subsequence of word tokens (checked by dynamic programming).
      const ta = (a.match(/\S+/g) ?? []) as string[];
      const tb = (b.match(/\S+/g) ?? []) as string[];
      const dp = Array.from({ length: ta.length + 1 }, () => new Array<number>(tb.length + 1).fill(0));
      for (let x = 1; x <= ta.length; x++) for (let y = 1; y <= tb.length; y++) dp[x][y] = ta[x - 1] === tb[y - 1] ? dp[x - 1][y - 1] + 1 : Math.max(dp[x - 1][y], dp[x][y - 1]);
      const stats = diffStats(parts);
      expect(ta.length - stats.deleted).toBe(dp[ta.length][tb.length]);
      expect(tb.length - stats.inserted).toBe(dp[ta.length][tb.length]);
    }
  });

  it('handles long drafts (a few thousand words)', () => {
    const words = Array.from({ length: 3000 }, (_, i) => `w${i % 97}`);
    const a = words.join(' ');
    const b = words.map((w, i) => (i % 50 === 0 ? 'changed' : w)).join(' ');
    const parts = diffWords(a, b);
    expect(side(parts, 'del')).toBe(a);
    expect(side(parts, 'ins')).toBe(b);
    expect(diffStats(parts)).toEqual({ inserted: 60, deleted: 60 });
  });
});
