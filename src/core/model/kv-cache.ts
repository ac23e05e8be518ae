/**
 * The key/value cache for generation. Per layer it holds two parts:
 *   past [B, nKV, P, hD]  — long, rebuilt only when the tail fills up (every `blockSize` positions);
 *   tail [B, nKV, R, hD]  — short (R < blockSize), extended by one concat of ≤ blockSize rows per step.
 * A decode step therefore never copies the whole cache (amortised, each position is copied about
 * P / blockSize times over a generation instead of once per step), and attention reads both parts directly.
 *
 * It also tracks which positions are real tokens (left padding in a batch is not) and each row's next
 * RoPE position, and builds the step's additive attention mask.
 *
 * Use: `const step = cache.beginStep(...)` and `cache.extend(...)` inside the step's tf.tidy, then `commit()`
 * after it (or `rollback()` if it threw).
 */
import * as tf from '@tensorflow/tfjs';
import { MASKED, type KvPart } from './attention.ts';

interface LayerKv {
  pastK: tf.Tensor4D | null;
  pastV: tf.Tensor4D | null;
  tailK: tf.Tensor4D | null;
  tailV: tf.Tensor4D | null;
}

export interface StepPlan {
  /** RoPE position of each new token, row-major [B·T]. */
  positions: Int32Array;
  /** Additive mask [B, 1, T, S] over all keys (cached + new). Created in the caller's tidy. */
  mask: tf.Tensor4D;
}

export class KvCache {
  /** Positions stored per row (including padding). */
  length = 0;
  private layers: LayerKv[];
  private staged: Array<{ k: tf.Tensor4D; v: tf.Tensor4D } | null>;
  private real: Uint8Array; // [B, capacity]: 1 = a real token at that position
  private capacity = 0;
  private nextPosition: Int32Array; // [B]
  private stagedStep: { T: number; real: Uint8Array; nextPosition: Int32Array } | null = null;

  constructor(
    numLayers: number,
    public batch: number,
    readonly blockSize = 64,
  ) {
    this.layers = Array.from({ length: numLayers }, () => ({ pastK: null, pastV: null, tailK: null, tailV: null }));
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
    const tailK = tf.keep(l.tailK ? tf.concat([l.tailK, k], 2) : k);
    const tailV = tf.keep(l.tailV ? tf.concat([l.tailV, v], 2) : v);
    this.staged[li] = { k: tailK, v: tailV };
    return l.pastK && l.pastV ? [{ k: l.pastK, v: l.pastV }, { k: tailK, v: tailV }] : [{ k: tailK, v: tailV }];
  }

  /** Adopts the step's new tails; a tail that reached `blockSize` is folded into the past block. */
  commit(): void {
    const step = this.stagedStep;
    if (!step) throw new Error('KvCache.commit without beginStep');
    this.layers.forEach((l, li) => {
      const s = this.staged[li];
      if (!s) throw new Error(`KvCache.commit: layer ${li} was not extended`);
      tf.dispose([l.tailK, l.tailV].filter((t): t is tf.Tensor4D => t !== null));
      l.tailK = s.k;
      l.tailV = s.v;
      if (s.k.shape[2] >= this.blockSize) {
        if (l.pastK && l.pastV) {
          const [pk, pv] = [tf.concat([l.pastK, s.k], 2), tf.concat([l.pastV, s.v], 2)];
          tf.dispose([l.pastK, l.pastV, s.k, s.v]);
          l.pastK = pk;
          l.pastV = pv;
        } else {
          l.pastK = s.k;
          l.pastV = s.v;
        }
        l.tailK = null;
        l.tailV = null;
      }
      this.staged[li] = null;
    });
    this.real = step.real;
    this.nextPosition = step.nextPosition;
    this.length += step.T;
    this.stagedStep = null;
  }

  /** Forgets a step that failed part-way (its tensors are disposed). */
  rollback(): void {
    for (let li = 0; li < this.staged.length; li++) {
      const s = this.staged[li];
      if (s) tf.dispose([s.k, s.v]);
      this.staged[li] = null;
    }
    this.stagedStep = null;
  }

  /** Keeps only the given rows (finished rows of a batch are dropped to save work). */
  keepRows(rows: readonly number[]): void {
    if (rows.length === this.batch && rows.every((r, i) => r === i)) return;
    const idx = tf.tensor1d(rows as number[], 'int32');
    for (const l of this.layers) {
      for (const key of ['pastK', 'pastV', 'tailK', 'tailV'] as const) {
        const t = l[key];
        if (t) {
          l[key] = tf.gather(t, idx, 0);
          t.dispose();
        }
      }
    }
    idx.dispose();
    const real = new Uint8Array(rows.length * this.capacity);
    rows.forEach((r, i) => real.set(this.real.subarray(r * this.capacity, (r + 1) * this.capacity), i * this.capacity));
    this.real = real;
    this.nextPosition = Int32Array.from(rows, (r) => this.nextPosition[r]);
    this.batch = rows.length;
  }

  /** Each row's next RoPE position (its count of real tokens so far). */
  positionsOfRows(): Int32Array {
    return this.nextPosition.slice();
  }

  dispose(): void {
    this.rollback();
    for (const l of this.layers) {
      tf.dispose([l.pastK, l.pastV, l.tailK, l.tailV].filter((t): t is tf.Tensor4D => t !== null));
      l.pastK = l.pastV = l.tailK = l.tailV = null;
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
