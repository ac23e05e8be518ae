import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { bucketLength, defaultBuckets, evenLengthBuckets, GROUP_WINDOW_BATCHES, PreferenceBatches, SftBatches, stepsForEpochs } from '../../src/core/train/batches.ts';
import type { PreferenceExample, TokenSequence } from '../../src/core/train/data-types.ts';

function seq(len: number, tag: number, promptLen = 2): TokenSequence {
  const inputIds = Int32Array.from({ length: len }, (_, t) => tag * 100 + t + 1);
  const labels = Int32Array.from(inputIds, (x, t) => (t < promptLen ? -100 : x));
  return { inputIds, labels };
}

const EXAMPLES = [5, 17, 3, 40, 9, 12, 33, 8, 20, 2].map((len, i) => seq(len, i));

describe('length buckets', () => {
  it('are powers of two from 16 up to seqLen, plus seqLen', () => {
    expect(defaultBuckets(512)).toEqual([16, 32, 64, 128, 256, 512]);
    expect(defaultBuckets(100)).toEqual([16, 32, 64, 100]);
    expect(defaultBuckets(8)).toEqual([8]);
    expect(bucketLength(17, defaultBuckets(100))).toBe(32);
    expect(bucketLength(16, defaultBuckets(100))).toBe(16);
    expect(() => bucketLength(101, defaultBuckets(100))).toThrow(AppError);
  });
});

describe('SftBatches', () => {
  const batches = new SftBatches(EXAMPLES, { batchSize: 4, seed: 1, padId: 0 });

  it('visits every example once per epoch, in a seeded order that changes per epoch', () => {
    expect(batches.perEpoch).toBe(3);
    for (const epoch of [0, 1]) {
      const tags: number[] = [];
      for (let j = 0; j < 3; j++) {
        const b = batches.get(epoch * 3 + j);
        for (let r = 0; r < b.rows; r++) tags.push(Math.floor((b.inputIds[r * b.seqLen] - 1) / 100));
      }
      expect(tags.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect(batches.epochOrder(0)).not.toEqual(batches.epochOrder(1));
    expect(batches.get(2).rows).toBe(2); // the last batch of an epoch is smaller
    expect(batches.epochOrder(0)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const plain = new SftBatches(EXAMPLES, { batchSize: 4, seed: 1, padId: 0, noShuffle: true });
    expect(plain.epochOrder(3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('is a pure function of the index (a resumed run sees the same batches)', () => {
    const other = new SftBatches(EXAMPLES, { batchSize: 4, seed: 1, padId: 0 });
    const late = other.get(7);
    other.get(0);
    const again = other.get(7);
    const fresh = batches.get(7);
    for (const b of [again, fresh]) {
      expect(Array.from(b.inputIds)).toEqual(Array.from(late.inputIds));
      expect(Array.from(b.labels)).toEqual(Array.from(late.labels));
    }
    const reseeded = new SftBatches(EXAMPLES, { batchSize: 4, seed: 2, padId: 0 });
    expect(reseeded.epochOrder(0)).not.toEqual(batches.epochOrder(0));
  });

  it('pads on the right to the bucket of the longest row, with -100 labels, and counts tokens and loss positions', () => {
    for (let i = 0; i < 6; i++) {
      const b = batches.get(i);
      const rows = Array.from({ length: b.rows }, (_, r) => {
        const tag = Math.floor((b.inputIds[r * b.seqLen] - 1) / 100);
        return EXAMPLES[tag];
      });
      const longest = Math.max(...rows.map((e) => e.inputIds.length));
      expect(b.seqLen).toBe(bucketLength(longest, defaultBuckets(40)));
      expect(b.inputIds.length).toBe(b.rows * b.seqLen);
      let tokens = 0;
      let weight = 0;
      rows.forEach((e, r) => {
        const n = e.inputIds.length;
        tokens += n;
        weight += Math.max(0, n - 2);
        expect(Array.from(b.inputIds.subarray(r * b.seqLen, r * b.seqLen + n))).toEqual(Array.from(e.inputIds));
        expect(Array.from(b.labels.subarray(r * b.seqLen, r * b.seqLen + n))).toEqual(Array.from(e.labels));
        expect(b.inputIds.subarray(r * b.seqLen + n, (r + 1) * b.seqLen).every((x) => x === 0)).toBe(true);
        expect(b.labels.subarray(r * b.seqLen + n, (r + 1) * b.seqLen).every((x) => x === -100)).toBe(true);
      });
      expect(b.tokens).toBe(tokens);
      expect(b.weight).toBe(weight);
    }
  });

  it('refuses what it cannot batch', () => {
    expect(() => new SftBatches([], { batchSize: 4, seed: 0, padId: 0 })).toThrow(/no training examples/);
    expect(() => new SftBatches(EXAMPLES, { batchSize: 0, seed: 0, padId: 0 })).toThrow(/batch size must be a positive integer/);
    expect(() => new SftBatches(EXAMPLES, { batchSize: 2, seed: 0, padId: 0, buckets: [16, 32] })).toThrow(/longest example has 40 tokens/);
    expect(stepsForEpochs(3, 2, 2)).toBe(3);
    expect(stepsForEpochs(3, 1, 1)).toBe(3);
  });
});

describe('SftBatches grouped by length', () => {
  const tagsOf = (b: { rows: number; seqLen: number; inputIds: Int32Array }) => Array.from({ length: b.rows }, (_, r) => Math.floor((b.inputIds[r * b.seqLen] - 1) / 100));
  // 200 rows of lengths 10–200 in a scrambled order: random batches of 16 nearly always hold a long row.
  const many = Array.from({ length: 200 }, (_, i) => seq(10 + ((i * 37) % 191), i));
  const buckets = evenLengthBuckets(256);
  const plain = new SftBatches(many, { batchSize: 16, seed: 3, padId: 0, buckets });
  const grouped = new SftBatches(many, { batchSize: 16, seed: 3, padId: 0, buckets, groupByLength: true });
  const epoch = (b: SftBatches, e: number) => Array.from({ length: b.perEpoch }, (_, j) => b.get(e * b.perEpoch + j));

  it('buckets every 16 tokens up to seqLen', () => {
    expect(evenLengthBuckets(100)).toEqual([16, 32, 48, 64, 80, 96, 100]);
    expect(evenLengthBuckets(64, 32)).toEqual([32, 64]);
  });

  it('keeps the number of batches and visits every example once per epoch, in an order that changes per epoch', () => {
    expect(grouped.perEpoch).toBe(plain.perEpoch);
    for (const e of [0, 1]) expect(epoch(grouped, e).flatMap(tagsOf).sort((a, b) => a - b)).toEqual(many.map((_, i) => i));
    expect(epoch(grouped, 0).map(tagsOf)).not.toEqual(epoch(grouped, 1).map(tagsOf));
  });

  it('pads far less than random batches, and is a pure function of the index', () => {
    const padded = (b: SftBatches) => epoch(b, 0).reduce((a, x) => a + x.rows * x.seqLen, 0);
    const real = many.reduce((a, s) => a + s.inputIds.length, 0);
    expect(padded(plain) / real).toBeGreaterThan(1.5);
    expect(padded(grouped) / real).toBeLessThan(1.25);
    const again = new SftBatches(many, { batchSize: 16, seed: 3, padId: 0, buckets, groupByLength: true });
    expect(tagsOf(again.get(17))).toEqual(tagsOf(grouped.get(17)));
  });

  it('sorts only within windows of GROUP_WINDOW_BATCHES batches', () => {
    const long = Array.from({ length: 16 * GROUP_WINDOW_BATCHES + 5 }, (_, i) => seq(2 + (i % 50), i));
    const b = new SftBatches(long, { batchSize: 16, seed: 1, padId: 0, groupByLength: true, noShuffle: true });
    expect(b.perEpoch).toBe(GROUP_WINDOW_BATCHES + 1);
    expect(tagsOf(b.get(GROUP_WINDOW_BATCHES))).toEqual([1024, 1025, 1026, 1027, 1028].sort((x, y) => (x % 50) - (y % 50)));
  });
});

describe('PreferenceBatches', () => {
  it('stacks chosen rows then rejected rows at one bucket length; weight = pairs', () => {
    const pairs: PreferenceExample[] = [0, 1, 2].map((i) => ({ chosen: seq(5 + i, i), rejected: seq(20 - i, 10 + i), line: i + 1, truncated: false }));
    const b = new PreferenceBatches(pairs, { batchSize: 2, seed: 0, padId: 7, noShuffle: true }).get(0);
    expect(b.pairs).toBe(2);
    expect(b.rows).toBe(4);
    expect(b.seqLen).toBe(20); // default buckets come from the longest example: [16, 20]
    expect(b.weight).toBe(2);
    expect(b.inputIds[0]).toBe(1); // chosen of pair 0
    expect(b.inputIds[b.seqLen]).toBe(101); // chosen of pair 1
    expect(b.inputIds[2 * b.seqLen]).toBe(1001); // rejected of pair 0
    expect(b.inputIds[3 * b.seqLen]).toBe(1101); // rejected of pair 1
    expect(b.inputIds[5]).toBe(7); // padding id
  });
});
