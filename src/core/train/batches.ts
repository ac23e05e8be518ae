/**
 * Examples → padded batches. Each epoch visits the examples in a seeded random order (a pure function of
 * seed and epoch, so a resumed run sees exactly the batches an uninterrupted one would), cut into batches of
 * `batchSize` (the last one may be smaller). A batch is padded on the right to the smallest length bucket
 * that holds its longest sequence: WebGPU reuses buffers only of identical size, so a few fixed lengths
 * keep memory flat. Padding positions have label -100 and never take loss; with causal attention and
 * right padding they cannot affect the real positions either.
 *
 * `groupByLength` (like TRL's group_by_length): each epoch's seeded order is cut into windows of
 * GROUP_WINDOW_BATCHES batches, each window is sorted by length and cut into batches, and the epoch's batches
 * are then visited in a seeded order. The number of batches per epoch is unchanged; a batch holds rows of
 * similar length, so a few long rows no longer pad every batch to their length.
 */
import { AppError } from '../errors.ts';
import { IGNORE_INDEX, type PreferenceExample, type TokenSequence } from './data-types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';

/** What every batch tells the training loop. */
export interface BatchInfo {
  /** Real (non-padding) tokens, for tokens/s. */
  tokens: number;
  /**
   * Weight of this micro-batch when gradients are accumulated: positions that take loss (SFT) or pairs
   * (DPO). The loop weights micro-batch means by it, so accumulation equals one large batch.
   */
  weight: number;
}

/** Token ids and labels, row-major [rows, seqLen]. */
export interface TokenBatch extends BatchInfo {
  /** [rows * seqLen] */
  inputIds: Int32Array;
  /** [rows * seqLen], -100 where no loss is taken. */
  labels: Int32Array;
  rows: number;
  seqLen: number;
}

/** Chosen sequences in rows [0, pairs), rejected in rows [pairs, 2·pairs), one common length. */
export interface PreferenceBatch extends TokenBatch {
  pairs: number;
  /** Positions of the chosen rows that take loss (RPO's NLL term is their mean). */
  chosenTokens: number;
}

/** Micro-batches addressed by a global index (epoch-major); `get` must be a pure function of the index. */
export interface BatchSource<B> {
  /** Micro-batches in one epoch. */
  readonly perEpoch: number;
  get(index: number): B;
}

/** Batches per sorted window when grouping by length. */
export const GROUP_WINDOW_BATCHES = 64;

/** Powers of two from 16 up to seqLen, and seqLen itself. */
export function defaultBuckets(seqLen: number): number[] {
  const out: number[] = [];
  for (let b = 16; b < seqLen; b *= 2) out.push(b);
  out.push(seqLen);
  return out;
}

/** Multiples of `step` below seqLen, and seqLen itself: fine buckets for length-grouped batches. */
export function evenLengthBuckets(seqLen: number, step = 16): number[] {
  const out: number[] = [];
  for (let b = step; b < seqLen; b += step) out.push(b);
  out.push(seqLen);
  return out;
}

/** The smallest bucket ≥ length. */
export function bucketLength(length: number, buckets: readonly number[]): number {
  for (const b of buckets) if (b >= length) return b;
  throw new AppError('internal', `A sequence of ${length} tokens is longer than the largest bucket (${buckets[buckets.length - 1]}).`);
}

/** Pads sequences to `seqLen` on the right and stacks them. */
export function padSequences(seqs: readonly TokenSequence[], seqLen: number, padId: number): TokenBatch {
  const rows = seqs.length;
  const inputIds = new Int32Array(rows * seqLen).fill(padId);
  const labels = new Int32Array(rows * seqLen).fill(IGNORE_INDEX);
  let tokens = 0;
  let weight = 0;
  seqs.forEach((s, r) => {
    if (s.inputIds.length > seqLen) throw new AppError('internal', `Sequence of ${s.inputIds.length} tokens does not fit length ${seqLen}.`);
    inputIds.set(s.inputIds, r * seqLen);
    labels.set(s.labels, r * seqLen);
    tokens += s.inputIds.length;
    weight += countedPositions(s.labels);
  });
  return { inputIds, labels, rows, seqLen, tokens, weight };
}

export interface BatchOptions {
  batchSize: number;
  seed: number;
  /** Length buckets, ascending; the last must hold the longest sequence. Default: defaultBuckets(maxLen). */
  buckets?: readonly number[];
  /** Padding token id (any valid id; padding takes no loss). */
  padId: number;
  /** Visit examples in file order instead of a seeded random order. */
  noShuffle?: boolean;
  /** Batch rows of similar length together (see the module comment). */
  groupByLength?: boolean;
}

/** Shared epoch ordering: the permutation for an epoch is derived from (seed, epoch) alone. */
abstract class EpochBatches<E, B> implements BatchSource<B> {
  readonly perEpoch: number;
  protected readonly buckets: readonly number[];
  private cachedEpoch = -1;
  private order: number[] = [];
  private groupedEpoch = -1;
  private grouped: number[][] = [];

  constructor(
    protected readonly examples: readonly E[],
    protected readonly options: BatchOptions,
  ) {
    if (examples.length === 0) throw new AppError('bad-input', 'There are no training examples left to batch.');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new AppError('bad-input', `The batch size must be a positive integer, got ${options.batchSize}.`);
    }
    const maxLength = maxOf(examples.map((e) => this.lengthOf(e)));
    this.buckets = options.buckets ?? defaultBuckets(maxLength);
    if (this.buckets[this.buckets.length - 1] < maxLength) {
      throw new AppError('bad-input', `The longest example has ${maxLength} tokens, more than the largest length bucket (${this.buckets[this.buckets.length - 1]}).`);
    }
    this.perEpoch = Math.ceil(examples.length / options.batchSize);
  }

  /** Example indices of one epoch, in visiting order. */
  epochOrder(epoch: number): number[] {
    if (epoch !== this.cachedEpoch) {
      const n = this.examples.length;
      this.order = this.options.noShuffle
        ? Array.from({ length: n }, (_, i) => i)
        : Rng.fromSeed(deriveSeed(this.options.seed, `epoch:${epoch}`)).permutation(n);
      this.cachedEpoch = epoch;
    }
    return this.order;
  }

  /** Example indices of each batch of one epoch, in visiting order, when grouping by length. */
  private groupedBatches(epoch: number): number[][] {
    if (epoch !== this.groupedEpoch) {
      const order = this.epochOrder(epoch);
      const size = this.options.batchSize;
      const window = size * GROUP_WINDOW_BATCHES;
      const out: number[][] = [];
      for (let w = 0; w < order.length; w += window) {
        const sorted = order.slice(w, w + window).sort((a, b) => this.lengthOf(this.examples[a]) - this.lengthOf(this.examples[b]) || a - b);
        for (let j = 0; j < sorted.length; j += size) out.push(sorted.slice(j, j + size));
      }
      const visit = this.options.noShuffle ? out.map((_, i) => i) : Rng.fromSeed(deriveSeed(this.options.seed, `batches:${epoch}`)).permutation(out.length);
      this.grouped = visit.map((i) => out[i]);
      this.groupedEpoch = epoch;
    }
    return this.grouped;
  }

  get(index: number): B {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`Batch index must be a non-negative integer, got ${index}.`);
    const epoch = Math.floor(index / this.perEpoch);
    const j = index % this.perEpoch;
    const picked = this.options.groupByLength
      ? this.groupedBatches(epoch)[j]
      : this.epochOrder(epoch).slice(j * this.options.batchSize, (j + 1) * this.options.batchSize);
    return this.build(picked.map((i) => this.examples[i]));
  }

  /** Tokens of one example (the longer sequence of a pair). */
  protected abstract lengthOf(example: E): number;
  protected abstract build(examples: E[]): B;
}

/** SFT batches: [rows, T] with T the bucket of the longest row. */
export class SftBatches extends EpochBatches<TokenSequence, TokenBatch> {
  protected lengthOf(e: TokenSequence): number {
    return e.inputIds.length;
  }
  protected build(examples: TokenSequence[]): TokenBatch {
    const len = maxOf(examples.map((e) => this.lengthOf(e)));
    return padSequences(examples, bucketLength(len, this.buckets), this.options.padId);
  }
}

/** DPO batches: chosen rows then rejected rows, one bucket length for both. weight = pairs. */
export class PreferenceBatches extends EpochBatches<PreferenceExample, PreferenceBatch> {
  protected lengthOf(e: PreferenceExample): number {
    return Math.max(e.chosen.inputIds.length, e.rejected.inputIds.length);
  }
  protected build(examples: PreferenceExample[]): PreferenceBatch {
    const len = maxOf(examples.map((e) => this.lengthOf(e)));
    const padded = padSequences([...examples.map((e) => e.chosen), ...examples.map((e) => e.rejected)], bucketLength(len, this.buckets), this.options.padId);
    return { ...padded, pairs: examples.length, weight: examples.length, chosenTokens: examples.reduce((n, e) => n + countedPositions(e.chosen.labels), 0) };
  }
}

/** Positions that take loss: labels after the first (each is predicted from the one before) that are not -100. */
function countedPositions(labels: ArrayLike<number>): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) n++;
  return n;
}

function maxOf(xs: readonly number[]): number {
  let m = 0;
  for (const x of xs) if (x > m) m = x;
  return m;
}

/** Optimizer steps for a number of epochs: each step consumes `gradAccum` micro-batches. */
export function stepsForEpochs(perEpoch: number, gradAccum: number, epochs: number): number {
  return Math.ceil((perEpoch * epochs) / gradAccum);
}
