/**
 * Token-budget batches grouped by length, for training the toy model from scratch. The toy corpus mixes
 * 20-token draft chats with 90-token feedback chats; random batches padded to their longest row would waste
 * most of every step on padding. Here every example goes to the smallest length bucket that holds it, a
 * bucket's batches have `floor(tokenBudget / bucketLength)` rows, and each epoch shuffles the examples inside
 * each bucket and then the order of all batches. Both shuffles are pure functions of (seed, epoch), so the
 * batch at a global index is always the same (a resumed or repeated run sees identical batches), and the
 * number of batches per epoch is fixed.
 */
import { AppError } from '../errors.ts';
import { padSequences, type BatchSource, type TokenBatch } from '../train/batches.ts';
import type { TokenSequence } from '../train/data-types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';

export interface LengthBatchOptions {
  /** Padded tokens per batch (rows · bucket length ≤ this, at least one row). */
  tokenBudget: number;
  /** Bucket lengths, ascending; the last must hold the longest example. */
  buckets: readonly number[];
  seed: number;
  padId: number;
}

/** Lengths from `step` to `max` in steps of `step` (the last rounded up to hold `max`). */
export function evenBuckets(max: number, step: number): number[] {
  if (!Number.isInteger(step) || step < 1) throw new AppError('bad-input', `The bucket step must be a positive whole number, got ${step}.`);
  const out: number[] = [];
  for (let b = step; b < max; b += step) out.push(b);
  out.push(Math.ceil(max / step) * step);
  return out;
}

export class LengthGroupedBatches implements BatchSource<TokenBatch> {
  readonly perEpoch: number;
  /** Example indices per bucket (in corpus order), and that bucket's rows per batch. */
  private readonly groups: { length: number; rows: number; members: number[] }[];
  private cachedEpoch = -1;
  /** For the cached epoch: each batch as [group, first member position]. */
  private plan: [number, number][] = [];
  private shuffled: number[][] = [];

  constructor(
    private readonly examples: readonly TokenSequence[],
    private readonly options: LengthBatchOptions,
  ) {
    if (examples.length === 0) throw new AppError('bad-input', 'There are no training examples to batch.');
    const { buckets, tokenBudget } = options;
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isInteger(b) || b < 2 || (i > 0 && b <= buckets[i - 1]))) {
      throw new AppError('bad-input', 'Length buckets must be ascending whole numbers ≥ 2.');
    }
    if (!Number.isInteger(tokenBudget) || tokenBudget < 1) throw new AppError('bad-input', `The token budget must be a positive whole number, got ${tokenBudget}.`);
    const members = buckets.map(() => [] as number[]);
    examples.forEach((e, i) => {
      const n = e.inputIds.length;
      const k = buckets.findIndex((b) => b >= n);
      if (k < 0) throw new AppError('bad-input', `An example has ${n} tokens, more than the largest bucket (${buckets[buckets.length - 1]}).`);
      members[k].push(i);
    });
    this.groups = buckets
      .map((length, k) => ({ length, rows: Math.max(1, Math.floor(tokenBudget / length)), members: members[k] }))
      .filter((g) => g.members.length > 0);
    this.perEpoch = this.groups.reduce((s, g) => s + Math.ceil(g.members.length / g.rows), 0);
  }

  /** How many batches each bucket contributes per epoch (for logs). */
  describe(): { length: number; rows: number; examples: number; batches: number }[] {
    return this.groups.map((g) => ({ length: g.length, rows: g.rows, examples: g.members.length, batches: Math.ceil(g.members.length / g.rows) }));
  }

  private prepare(epoch: number): void {
    if (epoch === this.cachedEpoch) return;
    const rng = Rng.fromSeed(deriveSeed(this.options.seed, `toy-batches:${epoch}`));
    this.shuffled = this.groups.map((g) => rng.permutation(g.members.length).map((j) => g.members[j]));
    const plan: [number, number][] = [];
    this.groups.forEach((g, k) => {
      for (let at = 0; at < g.members.length; at += g.rows) plan.push([k, at]);
    });
    this.plan = rng.permutation(plan.length).map((j) => plan[j]);
    this.cachedEpoch = epoch;
  }

  get(index: number): TokenBatch {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`Batch index must be a non-negative integer, got ${index}.`);
    const epoch = Math.floor(index / this.perEpoch);
    this.prepare(epoch);
    const [k, at] = this.plan[index % this.perEpoch];
    const g = this.groups[k];
    const picked = this.shuffled[k].slice(at, at + g.rows).map((i) => this.examples[i]);
    return padSequences(picked, g.length, this.options.padId);
  }
}
