/**
 * The key/value cache for generation. Per layer it holds two parts:
 *   past — long, in the split layout (one [hD, P] keys / [P, hD] values tensor per row and kv head, see
 *          attention.ts); rebuilt only when the tail fills up, so XNNPACK packs it once per block;
 *   tail — short [B, nKV, R, hD] (R < blockSize), extended by one small concat per step.
 * A decode step therefore never copies the whole cache: a position is copied about P / blockSize times over
 * a whole generation, not once per step.
 *
 * It also tracks which positions are real tokens (left padding in a batch is not) and each row's next RoPE
 * position, and builds the step's additive attention mask.
 *
 * Use: `cache.beginStep(...)` and `cache.extend(...)` inside the step's tf.tidy, then `commit()` after it
 * (or `rollback()` if it threw).
 */
import * as tf from '@tensorflow/tfjs';
import { MASKED, splitKv, type KvPart, type SplitKv } from './attention.ts';

interface LayerKv {
  past: SplitKv | null;
  tailK: tf.Tensor4D | null; // [B, nKV, R, hD]
  tailV: tf.Tensor4D | null;
}

export interface StepPlan {
  /** RoPE position of each new token, row-major [B·T]. */
  positions: Int32Array;
  /** Additive mask [B, 1, T, S] over all keys (cached + new). Created in the caller's tidy. */
  mask: tf.Tensor4D;
}

function pastTensors(p: SplitKv | null): tf.Tensor[] {
  return p ? [...p.keysT, ...p.values] : [];
}

export class KvCache {
  /** Positions stored per row (including padding). */
  length = 0;
  private layers: LayerKv[];
  private staged: Array<LayerKv | null>;
  private real: Uint8Array; // [B, capacity]: 1 = a real token at that position
  private capacity = 0;
  private nextPosition: Int32Array; // [B]
  private stagedStep: { T: number; real: Uint8Array; nextPosition: Int32Array } | null = null;

  constructor(
    numLayers: number,
    public batch: number,
    readonly blockSize = 64,
  ) {
    this.layers = Array.from({ length: numLayers }, () => ({ past: null, tailK: null, tailV: null }));
    this.staged = this.layers.map(() => null);
    this.real = new Uint8Array(0);
    this.nextPosition = new Int32Array(batch);
  }

  /**
   * Plans a step of T new tokens per row. `newReal[b][t]` = 1 for a real token, 0 for padding (default all
   * real). Call inside the step's tf.tidy (the mask tensor is created here).
   */
  beginStep(T: number, newReal?: ReadonlyArray<ArrayLike<number>>): StepPlan {
    const B = this.batch;
    const L = this.length;
    const S = L + T;
    this.ensureCapacity(S);
    const real = this.real.slice(0, B * this.capacity);
    const next = this.nextPosition.slice();
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const isReal = newReal ? newReal[b][t] !== 0 : true;
        real[b * this.capacity + L + t] = isReal ? 1 : 0;
        positions[b * T + t] = isReal ? next[b]++ : 0;
      }
    }
    const mask = new Float32Array(B * T * S);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * S;
        for (let s = 0; s < S; s++) mask[row + s] = s <= L + t && real[b * this.capacity + s] ? 0 : MASKED;
      }
    }
    this.stagedStep = { T, real, nextPosition: next };
    return { positions, mask: tf.tensor4d(mask, [B, 1, T, S]) };
  }

  /** Layer `li`'s new keys/values [B, nKV, T, hD] → the parts to attend over. Call inside the step's tidy. */
  extend(li: number, k: tf.Tensor4D, v: tf.Tensor4D): KvPart[] {
    const l = this.layers[li];
    const tailK = l.tailK ? tf.concat([l.tailK, k], 2) : k;
    const tailV = l.tailV ? tf.concat([l.tailV, v], 2) : v;
    if ((tailK.shape[2] as number) < this.blockSize) {
      this.staged[li] = { past: l.past, tailK: tf.keep(tailK), tailV: tf.keep(tailV) };
      const tail: KvPart = { kind: 'batched', k: tailK, v: tailV };
      return l.past ? [l.past, tail] : [tail];
    }
    // The tail is full: fold it into the past block (one copy of the past per blockSize steps).
    const add = splitKv(tailK, tailV);
    const past: SplitKv = l.past
      ? {
          kind: 'split',
          keysT: l.past.keysT.map((kt, i) => tf.concat([kt, add.keysT[i]], 1)),
          values: l.past.values.map((vv, i) => tf.concat([vv, add.values[i]], 0)),
          length: l.past.length + add.length,
        }
      : add;
    for (const t of pastTensors(past)) tf.keep(t);
    this.staged[li] = { past, tailK: null, tailV: null };
    return [past];
  }

  /** Adopts the step's new parts and frees the ones they replace. */
  commit(): void {
    const step = this.stagedStep;
    if (!step) throw new Error('KvCache.commit without beginStep');
    this.layers.forEach((l, li) => {
      const s = this.staged[li];
      if (!s) throw new Error(`KvCache.commit: layer ${li} was not extended`);
      const old = [l.tailK, l.tailV, ...(s.past !== l.past ? pastTensors(l.past) : [])];
      tf.dispose(old.filter((t): t is tf.Tensor => t !== null));
      this.layers[li] = s;
      this.staged[li] = null;
    });
    this.real = step.real;
    this.nextPosition = step.nextPosition;
    this.length += step.T;
    this.stagedStep = null;
  }

  /** Forgets a step that failed part-way (its new tensors are freed). */
  rollback(): void {
    this.staged.forEach((s, li) => {
      if (!s) return;
      const l = this.layers[li];
      const fresh = [s.tailK, s.tailV, ...(s.past !== l.past ? pastTensors(s.past) : [])];
      tf.dispose(fresh.filter((t): t is tf.Tensor => t !== null));
      this.staged[li] = null;
    });
    this.stagedStep = null;
  }

  /** Keeps only the given rows (finished rows of a batch are dropped to save work). */
  keepRows(rows: readonly number[]): void {
    if (rows.length === this.batch && rows.every((r, i) => r === i)) return;
    const idx = tf.tensor1d(rows as number[], 'int32');
    for (const l of this.layers) {
      for (const key of ['tailK', 'tailV'] as const) {
        const t = l[key];
        if (t) {
          l[key] = tf.gather(t, idx, 0);
          t.dispose();
        }
      }
      if (l.past) {
        const nKV = l.past.keysT.length / this.batch;
        const keep = rows.flatMap((r) => Array.from({ length: nKV }, (_, j) => r * nKV + j));
        const dropped = l.past.keysT.map((_, i) => i).filter((i) => !keep.includes(i));
        tf.dispose(dropped.flatMap((i) => [l.past!.keysT[i], l.past!.values[i]]));
        l.past = { kind: 'split', keysT: keep.map((i) => l.past!.keysT[i]), values: keep.map((i) => l.past!.values[i]), length: l.past.length };
      }
    }
    idx.dispose();
    const real = new Uint8Array(rows.length * this.capacity);
    rows.forEach((r, i) => real.set(this.real.subarray(r * this.capacity, (r + 1) * this.capacity), i * this.capacity));
    this.real = real;
    this.nextPosition = Int32Array.from(rows, (r) => this.nextPosition[r]);
    this.batch = rows.length;
  }

  dispose(): void {
    this.rollback();
    for (const l of this.layers) {
      tf.dispose([l.tailK, l.tailV, ...pastTensors(l.past)].filter((t): t is tf.Tensor => t !== null));
      l.past = null;
      l.tailK = l.tailV = null;
    }
  }

  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    let cap = Math.max(64, this.capacity);
    while (cap < n) cap *= 2;
    const real = new Uint8Array(this.batch * cap);
    for (let b = 0; b < this.batch; b++) real.set(this.real.subarray(b * this.capacity, b * this.capacity + this.length), b * cap);
    this.real = real;
    this.capacity = cap;
  }
}
