/**
 * The decoder's inference pass on the wasm kernels (module.ts), for prefill and decode alike: what
 * model/llama.ts computes, for B rows of T new tokens through a KernelKvCache, returning the logits of each
 * row's last position only. Per layer, in tfjs-wasm's heap and without a tfjs kernel launch:
 *
 *   h = rms_norm(x)                    once, the input of q, k and v (8-bit: quantized once for all three)
 *   q, k, v = h·Wq, h·Wk, h·Wv (+ biases); qwen3's q/k norms; RoPE (q also scaled by 1/√hD)
 *   K[L…L+T), V[L…L+T) = k, v          one write per layer into the cache
 *   x += attention(q, K, V)·Wo         causal, padded positions masked
 *   h = rms_norm(x); x += (silu(h·Wg) · h·Wu)·Wd
 *
 * Weights are the model's own tfjs tensors, read by address (F32), or copies the kernels own (owned-weights.ts):
 * packed F32 panels, or 8-bit (int8 with one f32 scale per group of 32 inputs, dequantized inside the matmul
 * kernel; activations are quantized per group of 32 too, as llama.cpp does for its Q8_0 weights). An adapter's
 * low-rank terms (Linears.lowRank: LoRA at inference) are added to their projections' outputs,
 * y += scaling · (x·Aᵀ)·Bᵀ.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { ropeAngles, ropeInverseFrequencies } from '../model/rope.ts';
import type { LowRankTerm } from '../model/linear.ts';
import type { ModelConfig, Projection } from '../model/types.ts';
import type { LayerWeights, ModelWeights } from '../model/weights.ts';
import type { KernelKvCache } from './kv-cache.ts';
import { CTRL, f32Word, JOB, KSPLIT, ROWWISE, type Kernels } from './module.ts';
import { addressOf, GROUP, ownedWeightsOf, PANEL, type OwnedWeights, type Proj } from './owned-weights.ts';

interface LayerPtrs {
  inputNorm: number;
  postNorm: number;
  q: Proj;
  k: Proj;
  v: Proj;
  o: Proj;
  gate: Proj;
  up: Proj;
  down: Proj;
  qBias: number;
  kBias: number;
  vBias: number;
  oBias: number;
  qNorm: number;
  kNorm: number;
}

/** An adapter's low-rank term per layer and projection (Linears.lowRank). */
export type LowRankOf = (layer: number, proj: Projection) => LowRankTerm | undefined;

/** Whether the kernels can run this configuration. */
export function kernelsSupport(c: ModelConfig): boolean {
  return c.headDim % 4 === 0 && c.numHeads % c.numKvHeads === 0;
}

/** Scratch buffers of a pass over N rows. */
interface Scratch {
  rows: number;
  base: number;
  x: number;
  h: number;
  q: number;
  k: number;
  v: number;
  att: number;
  gate: number;
  up: number;
  xq: number;
  xs: number;
  cos: number;
  sin: number;
}

/** Float scratch in the kernels' heap that grows to the largest size asked and keeps it between steps. */
class HeapFloats {
  #ptr = 0;
  #floats = 0;
  constructor(private readonly k: Kernels) {}

  /** The address of at least `floats` floats (what was there is not kept when it grows). */
  reserve(floats: number): number {
    if (floats > this.#floats) {
      if (this.#ptr) this.k.free(this.#ptr);
      this.#ptr = this.k.malloc(floats * 4);
      this.#floats = floats;
    }
    return this.#ptr;
  }

  get ptr(): number {
    return this.#ptr;
  }

  free(): void {
    if (this.#ptr) this.k.free(this.#ptr);
    this.#ptr = this.#floats = 0;
  }
}

/** Runs passes of one model on the kernels; holds scratch space between calls (free with dispose). */
export class KernelRunner {
  readonly #k: Kernels;
  readonly #c: ModelConfig;
  readonly #w: ModelWeights;
  readonly #inv: Float64Array;
  #scratch: Scratch | null = null;
  /** Attention scores: 2·cap floats per chunk of a job, 3·cap per kv head on one thread (srs_attention). */
  readonly #scores: HeapFloats;
  /** Decode's matmul partial sums (KSPLIT · rows · out floats). */
  readonly #partials: HeapFloats;
  /** An adapter's x·Aᵀ [N, r]. */
  readonly #low: HeapFloats;
  #logits = 0;
  #logitsRows = 0;
  #last = 0;
  /** Whether this pass's jobs go to the helper threads too. */
  #pool = false;
  /** When set, each step adds its time per kind of work here (ms and calls; `other` = norms, RoPE, SiLU, cache writes, embedding). */
  profile: Map<string, { ms: number; calls: number }> | null = null;

  constructor(kernels: Kernels, config: ModelConfig, weights: ModelWeights) {
    this.#k = kernels;
    this.#c = config;
    this.#w = weights;
    this.#scores = new HeapFloats(kernels);
    this.#partials = new HeapFloats(kernels);
    this.#low = new HeapFloats(kernels);
    this.#inv = ropeInverseFrequencies(config);
  }

  get kernels(): Kernels {
    return this.#k;
  }

  /**
   * Feeds ids [B][T] (every row the same T) through `cache` and returns the address of the logits of each row's
   * last position, [B, V] (valid until the next call). `newReal` marks left padding.
   */
  step(cache: KernelKvCache, ids: readonly (readonly number[])[], newReal?: ReadonlyArray<ArrayLike<number>> | null, lowRank?: LowRankOf | null): number {
    const c = this.#c;
    const B = ids.length;
    const T = ids[0].length;
    const N = B * T;
    const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: hD } = c;
    const qD = nH * hD;
    const kvD = nKV * hD;
    if (B !== cache.batch) throw new AppError('internal', `KernelRunner.step: ${B} rows for a cache of ${cache.batch}.`);
    const L = cache.length;
    // Decode steps ask HelperChoice (pool.ts); a prefill always runs on every thread: its jobs are T times a
    // decode step's, so a helper that starts late costs little of them, and the decode steps' choice (single
    // whenever the pool lost a few short steps) would otherwise keep it on one thread.
    const choice = this.#k.helperChoice;
    const mode = choice ? (T === 1 ? choice.next() : 'pool') : 'single';
    this.#pool = mode === 'pool';
    const t0 = performance.now();
    this.#timedInStep = 0;
    const positions = cache.plan(T, newReal);
    const s = this.#scratchFor(N);
    const k = this.#k;
    const e = k.exports;
    const layers = this.#layers();
    const owned = ownedWeightsOf(this.#w);

    // Token vectors and the step's RoPE angles.
    this.#embed(ids, s.x, owned);
    const { cos, sin } = ropeAngles(this.#inv, positions);
    k.f32(s.cos, N * hD).set(cos);
    k.f32(s.sin, N * hD).set(sin);
    this.#scores.reserve(Math.max(2 * this.#attentionParts(T) * this.#attentionHeadParts(T), 3) * nKV * cache.capacity);

    const eps = c.rmsNormEps;
    this.#lowRank = lowRank ?? null;
    // Only each row's last position reaches the logits, so after the last layer's keys and values are cached its
    // attention, o projection and MLP run on those B positions alone (rows 0…B−1 of x), not on all N.
    const pruneLast = T > 1;
    for (let li = 0; li < c.numLayers; li++) {
      const l = layers[li];
      const lastOnly = pruneLast && li === c.numLayers - 1;
      const M = lastOnly ? B : N;
      this.#rmsnorm(s.x, N, H, l.inputNorm, eps, s.h);
      const hq = this.#quantizeIfNeeded([l.q, l.k, l.v], s.h, N, H, s);
      this.#matmuls([l.q, l.k, l.v], s.h, hq, N, [l.qBias, l.kBias, l.vBias], [s.q, s.k, s.v]);
      this.#addLowRank(li, ['q_proj', 'k_proj', 'v_proj'], s.h, N, [s.q, s.k, s.v]);
      if (l.qNorm) this.#rmsnorm(s.q, N * nH, hD, l.qNorm, eps, s.q);
      if (l.kNorm) this.#rmsnorm(s.k, N * nKV, hD, l.kNorm, eps, s.k);
      this.#rope(s.q, N, nH, hD, s.cos, s.sin, 1 / Math.sqrt(hD));
      this.#rope(s.k, N, nKV, hD, s.cos, s.sin, 1);
      const rowBytes = cache.rowFloats() * 4;
      for (let b = 0; b < B; b++) {
        e.srs_kv_write(s.k + b * T * kvD * 4, cache.keys[li] + b * rowBytes, T, nKV, hD, cache.capacity, L);
        e.srs_kv_write(s.v + b * T * kvD * 4, cache.values[li] + b * rowBytes, T, nKV, hD, cache.capacity, L);
        const kv = [cache.keys[li] + b * rowBytes, cache.values[li] + b * rowBytes, cache.real + b * cache.capacity] as const;
        if (lastOnly) this.#attention(s.q + (b * T + T - 1) * qD * 4, ...kv, 1, L + T - 1, cache.capacity, s.att + b * qD * 4);
        else this.#attention(s.q + b * T * qD * 4, ...kv, T, L, cache.capacity, s.att + b * T * qD * 4);
      }
      // x row b ← x row b·T+T−1 (in order: a later source row lies above every row written before it).
      if (lastOnly) for (let b = 0; b < B; b++) k.u8(0, k.memory.buffer.byteLength).copyWithin(s.x + b * H * 4, s.x + (b * T + T - 1) * H * 4, s.x + (b * T + T) * H * 4);
      this.#matmul(l.o, s.att, this.#quantizeIfNeeded([l.o], s.att, M, qD, s), M, l.oBias, s.x, true);
      this.#addLowRank(li, ['o_proj'], s.att, M, [s.x]);
      this.#rmsnorm(s.x, M, H, l.postNorm, eps, s.h);
      const h2 = this.#quantizeIfNeeded([l.gate, l.up], s.h, M, H, s);
      this.#matmuls([l.gate, l.up], s.h, h2, M, [0, 0], [s.gate, s.up]);
      this.#addLowRank(li, ['gate_proj', 'up_proj'], s.h, M, [s.gate, s.up]);
      this.#siluMul(s.gate, s.up, M, I);
      this.#matmul(l.down, s.gate, this.#quantizeIfNeeded([l.down], s.gate, M, I, s), M, 0, s.x, true);
      this.#addLowRank(li, ['down_proj'], s.gate, M, [s.x]);
    }
    cache.length += T;

    // The last position of each row (row b of x after a pruned last layer) → final norm → LM head.
    this.#reserveLogits(B);
    const lastRow = (b: number) => (pruneLast ? b : b * T + T - 1);
    for (let b = 0; b < B; b++) k.u8(0, k.memory.buffer.byteLength).copyWithin(this.#last + b * H * 4, s.x + lastRow(b) * H * 4, s.x + (lastRow(b) + 1) * H * 4);
    e.srs_rmsnorm(this.#last, B, H, addressOf(this.#w.finalNorm), eps, this.#last);
    const head = owned ? owned.head : this.#f32Proj(this.#w.lmHead ?? this.#w.embedding);
    this.#matmul(head, this.#last, this.#quantizeIfNeeded([head], this.#last, B, H, s), B, 0, this.#logits, false);
    const ms = performance.now() - t0;
    if (choice && T === 1) choice.record(mode, ms);
    if (this.profile) {
      this.#add('other', ms - this.#timedInStep);
      this.#add('step', ms);
    }
    return this.#logits;
  }

  /** Row b of the logits [V], copied out of the heap. */
  logitsRow(b: number): Float32Array {
    const V = this.#c.vocabSize;
    return this.#k.f32(this.#logits + b * V * 4, V).slice();
  }

  /** The greedy token of row b, without copying the row out. */
  argmax(b: number): number {
    const V = this.#c.vocabSize;
    return this.#k.exports.srs_argmax(this.#logits + b * V * 4, V);
  }

  dispose(): void {
    const k = this.#k;
    for (const p of [this.#scratch?.base ?? 0, this.#logits, this.#last]) if (p) k.free(p);
    for (const b of [this.#scores, this.#partials, this.#low]) b.free();
    this.#scratch = null;
    this.#logits = this.#last = 0;
    this.#logitsRows = 0;
  }

  /** This step's adapter terms, or null. */
  #lowRank: LowRankOf | null = null;

  /** y_i [N, out] += scaling · (x·Aᵀ)·Bᵀ for each adapted projection of layer li (x [N, in], one input for all). */
  #addLowRank(li: number, projs: readonly Projection[], x: number, N: number, ys: readonly number[]): void {
    const of = this.#lowRank;
    if (!of) return;
    projs.forEach((proj, i) => {
      const t = of(li, proj);
      if (!t) return;
      this.#timed('adapter', () => {
        const [inF, r] = t.aT.shape;
        const outF = t.bT.shape[1];
        const e = this.#k.exports;
        const low = this.#low.reserve(N * r);
        e.srs_matmul_f32(x, N, addressOf(t.aT), 0, low, inF, r, 0, r, 0);
        const v = this.#k.f32(low, N * r);
        for (let j = 0; j < v.length; j++) v[j] *= t.scaling;
        e.srs_matmul_f32(low, N, addressOf(t.bT), 0, ys[i], r, outF, 0, outF, 1);
      });
    });
  }

  /** ms of the current step already counted under a named kind. */
  #timedInStep = 0;

  #add(name: string, ms: number): void {
    const e = this.profile!.get(name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    this.profile!.set(name, e);
  }

  /** Runs f, adding its time to `name` when profiling. */
  #timed(name: string, f: () => void): void {
    if (!this.profile) return f();
    const t0 = performance.now();
    f();
    const ms = performance.now() - t0;
    this.#timedInStep += ms;
    this.#add(name, ms);
  }

  #f32Proj(t: tf.Tensor2D): Proj {
    return { kind: 'f32', w: addressOf(t), in: t.shape[0], out: t.shape[1] };
  }

  /** Addresses of every layer's weights, read afresh each pass (a replaced tensor moves). */
  #layers(): LayerPtrs[] {
    const owned = ownedWeightsOf(this.#w);
    return this.#w.layers.map((l: LayerWeights, i) => {
      const m = owned?.layers[i];
      const p = (name: 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down'): Proj => m?.[name] ?? this.#f32Proj(l[name]);
      return {
        inputNorm: addressOf(l.inputNorm),
        postNorm: addressOf(l.postAttentionNorm),
        q: p('q'),
        k: p('k'),
        v: p('v'),
        o: p('o'),
        gate: p('gate'),
        up: p('up'),
        down: p('down'),
        qBias: addressOf(l.qBias),
        kBias: addressOf(l.kBias),
        vBias: addressOf(l.vBias),
        oBias: addressOf(l.oBias),
        qNorm: addressOf(l.qNorm),
        kNorm: addressOf(l.kNorm),
      };
    });
  }

  #embed(ids: readonly (readonly number[])[], x: number, owned: OwnedWeights | null): void {
    const { hiddenSize: H, vocabSize: V } = this.#c;
    const k = this.#k;
    const out = k.f32(x, ids.length * ids[0].length * H);
    const e = owned?.embedding ?? this.#f32Proj(this.#w.embedding);
    /** Element i of token id's vector, by the layout of e. */
    let at: (id: number, i: number) => number;
    if (e.kind === 'q8') {
      const groups = H / GROUP;
      const q = new Int8Array(k.memory.buffer, e.q, V * H); // [V, H]
      const sc = k.f32(e.s, V * groups);
      at = (id, i) => q[id * H + i] * sc[id * groups + Math.floor(i / GROUP)];
    } else if (e.kind === 'f32p') {
      const p = k.f32(e.p, H * V); // [V/8, H, 8]
      at = (id, i) => p[(id - (id % PANEL)) * H + i * PANEL + (id % PANEL)];
    } else {
      const w = k.f32(e.w, H * V); // [H, V]
      at = (id, i) => w[i * V + id];
    }
    let r = 0;
    for (const row of ids) for (const id of row) {
      for (let i = 0; i < H; i++) out[r * H + i] = at(id, i);
      r++;
    }
  }

  /** Quantizes `x` [N, n] once when any of `projs` is 8-bit; returns the scratch holding it (or null). */
  #quantizeIfNeeded(projs: Proj[], x: number, N: number, n: number, s: Scratch): { xq: number; xs: number } | null {
    if (!projs.some((p) => p.kind === 'q8')) return null;
    this.#timed('quantize activations', () => this.#k.exports.srs_quantize_rows(x, N, n, s.xq, s.xs));
    return { xq: s.xq, xs: s.xs };
  }

  /** y [N, out] (+)= x·W (+ bias), split over the threads by output columns. */
  #matmul(p: Proj, x: number, xq: { xq: number; xs: number } | null, N: number, bias: number, y: number, accumulate: boolean): void {
    this.#timed(p.kind === 'q8' ? 'matmul 8-bit' : 'matmul f32', () => this.#matmulNow(p, x, xq, N, bias, y, accumulate));
  }

  /**
   * y_i [N, out_i] = x·W_i (+ bias_i) for matrices of one input: packed F32 ones on the helper threads go as one
   * job (one wait instead of one per matrix; the same sums, so the same values), others one by one.
   */
  #matmuls(ps: Proj[], x: number, xq: { xq: number; xs: number } | null, N: number, biases: number[], ys: number[]): void {
    if (!this.#pool || this.#k.threads === 1 || !ps.every((p) => p.kind === 'f32p')) {
      ps.forEach((p, i) => this.#matmul(p, x, xq, N, biases[i], ys[i], false));
      return;
    }
    const packed = ps as Array<Extract<Proj, { kind: 'f32p' }>>;
    const args = [x, N, packed[0].in, 0, ps.length, ...packed.flatMap((p, i) => [p.p, biases[i], ys[i], p.out])];
    const panels = packed.reduce((n, p) => n + p.out / PANEL, 0);
    this.#timed('matmul f32', () => this.#run(JOB.matmulsF32p, args, chunksFor(panels * PANEL, this.#k.threads, 16)));
  }

  #matmulNow(p: Proj, x: number, xq: { xq: number; xs: number } | null, N: number, bias: number, y: number, accumulate: boolean): void {
    const k = this.#k;
    const threads = this.#pool ? k.threads : 1;
    if (p.kind === 'f32' && N < 4) {
      // Decode: split over the inputs (decode.c: matvec_part), the same parts on one thread or many.
      const partials = this.#partials.reserve(KSPLIT * N * p.out);
      if (threads === 1) return k.exports.srs_matvec_f32(x, N, p.w, bias, y, p.in, p.out, accumulate ? 1 : 0, partials);
      const blocks = Math.max(1, Math.min(Math.ceil(threads / 2), Math.floor(p.out / 64)));
      this.#run(JOB.matvecF32, [x, N, p.w, partials, p.in, p.out], KSPLIT * blocks);
      return k.exports.srs_matvec_reduce(partials, N, p.out, bias, y, accumulate ? 1 : 0);
    }
    if (p.kind === 'f32p') {
      // Packed panels: every thread takes a range of whole panels (contiguous memory), decode and prefill alike.
      if (threads === 1) return k.exports.srs_matmul_f32p(x, N, p.p, bias, y, p.in, p.out, 0, p.out, accumulate ? 1 : 0);
      return this.#run(JOB.matmulF32p, [x, N, p.p, bias, y, p.in, p.out, accumulate ? 1 : 0], chunksFor(p.out, threads, 16));
    }
    if (p.kind === 'f32') {
      if (threads === 1) return k.exports.srs_matmul_f32(x, N, p.w, bias, y, p.in, p.out, 0, p.out, accumulate ? 1 : 0);
      return this.#run(JOB.matmulF32, [x, N, p.w, bias, y, p.in, p.out, accumulate ? 1 : 0], chunksFor(p.out, threads, 16));
    }
    if (!xq) throw new AppError('internal', 'an 8-bit projection without quantized inputs');
    if (threads === 1) return k.exports.srs_matmul_q8(xq.xq, xq.xs, N, p.q, p.s, bias, y, p.in, p.out, 0, p.out, accumulate ? 1 : 0);
    return this.#run(JOB.matmulQ8, [xq.xq, xq.xs, N, p.q, p.s, bias, y, p.out, p.in, accumulate ? 1 : 0], chunksFor(p.out, threads, 4));
  }

  /**
   * Chunks of a row-wise job over `rows` rows on the helper threads, or 0 to run it on this thread: a decode
   * step's few rows cost less than a wait; a prefill's norms, RoPE and SiLU would otherwise stay on one thread.
   */
  #rowChunks(rows: number): number {
    const threads = this.#pool ? this.#k.threads : 1;
    return threads > 1 && rows >= 4 * threads ? Math.min(rows, 4 * threads) : 0;
  }

  /** out [rows, n] = rms_norm(x [rows, n])·w (out may be x). */
  #rmsnorm(x: number, rows: number, n: number, w: number, eps: number, out: number): void {
    const chunks = this.#rowChunks(rows);
    if (!chunks) return this.#k.exports.srs_rmsnorm(x, rows, n, w, eps, out);
    this.#run(JOB.rowwise, [ROWWISE.rmsnorm, rows, x, n, w, f32Word(eps), out], chunks);
  }

  /** RoPE in place on x [rows, heads, hD] with the rows' cos/sin [rows, hD], scaled by `scale`. */
  #rope(x: number, rows: number, heads: number, hD: number, cos: number, sin: number, scale: number): void {
    const chunks = this.#rowChunks(rows);
    if (!chunks) return this.#k.exports.srs_rope(x, rows, heads, hD, cos, sin, scale);
    this.#run(JOB.rowwise, [ROWWISE.rope, rows, x, heads, hD, cos, sin, f32Word(scale)], chunks);
  }

  /**
   * gate [rows, n] = silu(gate)·up. By rows only when n % 4 == 0, so that every element takes the four-lane path
   * it takes on one thread (the same bits).
   */
  #siluMul(gate: number, up: number, rows: number, n: number): void {
    const chunks = n % 4 === 0 ? this.#rowChunks(rows) : 0;
    if (!chunks) return this.#k.exports.srs_silu_mul(gate, up, rows * n);
    this.#run(JOB.rowwise, [ROWWISE.siluMul, rows, gate, n, up], chunks);
  }

  #attention(q: number, K: number, V: number, real: number, T: number, L: number, cap: number, out: number): void {
    this.#timed('attention', () => this.#attentionNow(q, K, V, real, T, L, cap, out));
  }

  #attentionNow(q: number, K: number, V: number, real: number, T: number, L: number, cap: number, out: number): void {
    const { numHeads: nH, numKvHeads: nKV, headDim: hD } = this.#c;
    const k = this.#k;
    if (!this.#pool) return k.exports.srs_attention(q, K, V, real, T, L, nH, nKV, hD, cap, this.#scores.ptr, out, 0, nKV);
    const parts = this.#attentionParts(T);
    const heads = this.#attentionHeadParts(T);
    this.#run(JOB.attention, [q, K, V, real, T, L, nH, nKV, hD, cap, this.#scores.ptr, 2 * cap, out, parts, heads], nKV * parts * heads);
  }

  /**
   * Head parts per kv head of a pooled attention job: a decode step's query heads go by pairs (a lone last head
   * alone), so that kv heads fewer than threads, or not a multiple of them, still share out; 1 for a prefill.
   */
  #attentionHeadParts(T: number): number {
    const threads = this.#pool ? this.#k.threads : 1;
    return threads === 1 || T > 1 ? 1 : Math.ceil(this.#c.numHeads / this.#c.numKvHeads / 2);
  }

  /** Token parts per kv head of a pooled attention job: a prefill's tokens shared out so that every thread has several chunks. */
  #attentionParts(T: number): number {
    const threads = this.#pool ? this.#k.threads : 1;
    return threads === 1 ? 1 : Math.max(1, Math.min(T, Math.ceil((4 * threads) / this.#c.numKvHeads)));
  }

  #run(kind: number, args: number[], chunks: number): void {
    const ctrl = this.#k.i32(this.#k.ctrl, CTRL.words);
    ctrl[CTRL.kind] = kind;
    ctrl[CTRL.chunks] = chunks;
    ctrl.set(args.map((a) => a | 0), CTRL.args);
    this.#k.exports.srs_run(this.#k.ctrl);
  }

  #scratchFor(N: number): Scratch {
    if (this.#scratch && this.#scratch.rows >= N) return this.#scratch;
    if (this.#scratch) this.#k.free(this.#scratch.base);
    const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: hD } = this.#c;
    const widest = Math.max(H, I, nH * hD);
    const sizes = { x: N * H * 4, h: N * H * 4, q: N * nH * hD * 4, k: N * nKV * hD * 4, v: N * nKV * hD * 4, att: N * nH * hD * 4, gate: N * I * 4, up: N * I * 4, xq: N * widest, xs: Math.ceil(widest / GROUP) * N * 4, cos: N * hD * 4, sin: N * hD * 4 };
    const total = Object.values(sizes).reduce((a, b) => a + b + 16, 0);
    const base = this.#k.malloc(total);
    let at = base;
    const s = { rows: N, base } as Scratch;
    for (const [name, size] of Object.entries(sizes) as Array<[keyof typeof sizes, number]>) {
      s[name] = at;
      at += size + 16;
    }
    this.#scratch = s;
    return s;
  }


  #reserveLogits(B: number): void {
    if (B <= this.#logitsRows) return;
    for (const p of [this.#logits, this.#last]) if (p) this.#k.free(p);
    this.#logits = this.#k.malloc(B * this.#c.vocabSize * 4);
    this.#last = this.#k.malloc(B * this.#c.hiddenSize * 4);
    this.#logitsRows = B;
  }
}

/** How many chunks to split `out` columns into: a few per thread, each at least `min` wide. */
function chunksFor(out: number, threads: number, min: number): number {
  return Math.max(1, Math.min(threads * 4, Math.floor(out / min), 65535));
}
