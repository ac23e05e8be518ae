/**
 * The key/value cache of the kernel path (forward.ts): per layer one keys and one values buffer in tfjs-wasm's
 * heap, [B, nKV, cap, hD], written in place — one write of the step's new keys and values per layer, and no
 * re-layout between steps. Capacity doubles when full (the only copy of the cache). Also tracks which positions
 * hold real tokens (left padding in a batch does not), [B, cap] bytes the attention kernel reads, and each
 * row's next RoPE position.
 */
import type { ModelConfig } from '../model/types.ts';
import type { Kernels } from './module.ts';

export class KernelKvCache {
  /** Positions stored per row (padding included). */
  length = 0;
  batch: number;
  capacity = 0;
  /** Per layer: keys and values buffer addresses. */
  keys: number[] = [];
  values: number[] = [];
  /** [B, capacity] bytes: 1 = a real token. */
  real = 0;
  nextPosition: Int32Array;
  readonly #k: Kernels;
  readonly #c: ModelConfig;
  #disposed = false;

  constructor(kernels: Kernels, config: ModelConfig, batch: number) {
    this.#k = kernels;
    this.#c = config;
    this.batch = batch;
    this.nextPosition = new Int32Array(batch);
  }

  /** Floats of one row's buffer of one layer at the current capacity: nKV·cap·hD. */
  rowFloats(cap = this.capacity): number {
    return this.#c.numKvHeads * cap * this.#c.headDim;
  }

  /** Makes room for `n` positions per row (keeping what is stored). */
  reserve(n: number): void {
    if (this.#disposed) throw new Error('KernelKvCache used after dispose');
    if (n <= this.capacity) return;
    let cap = Math.max(64, this.capacity);
    while (cap < n) cap *= 2;
    const { numKvHeads: nKV, headDim: hD, numLayers } = this.#c;
    const k = this.#k;
    const bytes = this.batch * nKV * cap * hD * 4;
    const move = (old: number): number => {
      const fresh = k.malloc(bytes);
      if (old) {
        const heap = k.u8(0, k.memory.buffer.byteLength);
        for (let b = 0; b < this.batch; b++) {
          for (let j = 0; j < nKV; j++) {
            const from = old + ((b * nKV + j) * this.capacity * hD) * 4;
            const to = fresh + ((b * nKV + j) * cap * hD) * 4;
            heap.copyWithin(to, from, from + this.length * hD * 4);
          }
        }
        k.free(old);
      }
      return fresh;
    };
    for (let l = 0; l < numLayers; l++) {
      this.keys[l] = move(this.keys[l] ?? 0);
      this.values[l] = move(this.values[l] ?? 0);
    }
    const real = k.malloc(this.batch * cap);
    const heap = k.u8(0, k.memory.buffer.byteLength);
    heap.fill(0, real, real + this.batch * cap);
    if (this.real) {
      for (let b = 0; b < this.batch; b++) heap.copyWithin(real + b * cap, this.real + b * this.capacity, this.real + b * this.capacity + this.length);
      k.free(this.real);
    }
    this.real = real;
    this.capacity = cap;
  }

  /**
   * Plans T new positions per row: marks which are real (`newReal[b][t]`, default all) and returns each new
   * token's RoPE position, row-major [B·T] (padding gets 0).
   */
  plan(T: number, newReal?: ReadonlyArray<ArrayLike<number>> | null): Int32Array {
    this.reserve(this.length + T);
    const real = this.#k.u8(this.real, this.batch * this.capacity);
    const positions = new Int32Array(this.batch * T);
    for (let b = 0; b < this.batch; b++) {
      for (let t = 0; t < T; t++) {
        const isReal = newReal ? newReal[b][t] !== 0 : true;
        real[b * this.capacity + this.length + t] = isReal ? 1 : 0;
        positions[b * T + t] = isReal ? this.nextPosition[b]++ : 0;
      }
    }
    return positions;
  }

  /** Keeps only the given rows (finished rows of a batch are dropped). */
  keepRows(rows: readonly number[]): void {
    if (rows.length === this.batch && rows.every((r, i) => r === i)) return;
    const heap = this.#k.u8(0, this.#k.memory.buffer.byteLength);
    const rowBytes = this.rowFloats() * 4;
    for (let l = 0; l < this.#c.numLayers; l++) {
      for (const buf of [this.keys[l], this.values[l]]) rows.forEach((r, i) => r !== i && heap.copyWithin(buf + i * rowBytes, buf + r * rowBytes, buf + (r + 1) * rowBytes));
    }
    rows.forEach((r, i) => r !== i && heap.copyWithin(this.real + i * this.capacity, this.real + r * this.capacity, this.real + (r + 1) * this.capacity));
    this.nextPosition = Int32Array.from(rows, (r) => this.nextPosition[r]);
    this.batch = rows.length;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const p of [...this.keys, ...this.values, this.real]) if (p) this.#k.free(p);
    this.keys = [];
    this.values = [];
  }
}
