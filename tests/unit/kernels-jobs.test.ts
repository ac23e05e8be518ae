/**
 * The kernels' matmuls and attention one by one (kernels/decode.c), against tfjs ops on the same backend: the
 * prefill matmul (packed 8-column panels, 4-row tiles, and the tails of both), decode's matmul split over the
 * inputs, the packed F32 format's panels, and the thread pool's jobs, which must give exactly what one thread gives (the same sums in the same
 * order) whatever the number of chunks. Then a prompt long enough to fill several row tiles and token parts,
 * through the kernel decoder against the tfjs forward pass. On tfjs-wasm with every core (here the threaded
 * build, with helper threads when there are 2 or more cores).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { activeKernels, CTRL, f32Word, JOB, KSPLIT, ROWWISE, type Kernels } from '../../src/core/kernels/module.ts';
import { openDecoder } from '../../src/core/model/decoder.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { LLAMA3_TINY, memorySource, randomCheckpoint } from '../fixtures/tiny-models.ts';

let k: Kernels;
const allocated: number[] = [];
beforeAll(async () => {
  await useNodeBackend('wasm');
  const got = activeKernels();
  if (!got) throw new Error('kernels/dist is missing: run npm run build:kernels');
  k = got;
});
afterAll(() => {
  for (const p of allocated.splice(0)) k.free(p);
});

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Copies `v` into the wasm heap; returns its address. */
function put(v: Float32Array | Uint8Array): number {
  const p = k.malloc(v.byteLength);
  allocated.push(p);
  new Uint8Array(k.memory.buffer, p, v.byteLength).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return p;
}

const read = (p: number, n: number): Float32Array => k.f32(p, n).slice();

/** One job through the pool, as KernelRunner posts it. */
function run(kind: number, args: number[], chunks: number): void {
  const ctrl = k.i32(k.ctrl, CTRL.words);
  ctrl[CTRL.kind] = kind;
  ctrl[CTRL.chunks] = chunks;
  ctrl.set(args, CTRL.args);
  k.exports.srs_run(k.ctrl);
}

/** y0 (when accumulating) + x·W + bias on tfjs ops: x [rows, in], W [in, out]. */
function reference(x: Float32Array, W: Float32Array, bias: Float32Array | null, y0: Float32Array | null, rows: number, inF: number, outF: number): Float32Array {
  return tf.tidy(() => {
    let y = tf.matMul(tf.tensor2d(x, [rows, inF]), tf.tensor2d(W, [inF, outF]));
    if (bias) y = y.add(tf.tensor1d(bias));
    if (y0) y = y.add(tf.tensor2d(y0, [rows, outF]));
    return y.dataSync() as Float32Array;
  });
}

/** The same in float64. */
function reference64(x: Float32Array, W: Float32Array, bias: Float32Array | null, y0: Float32Array | null, rows: number, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < outF; j++) {
      let v = (bias ? bias[j] : 0) + (y0 ? y0[r * outF + j] : 0);
      for (let i = 0; i < inF; i++) v += x[r * inF + i] * W[i * outF + j];
      y[r * outF + j] = v;
    }
  return y;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

const SHAPES: Array<[number, number, number]> = [
  // rows, in, out: row tiles of 4 and tails of 1–3 rows, panels of 8 columns and column tails, input blocks of 256 and a short last block
  [1, 16, 8],
  [3, 40, 37],
  [4, 8, 8],
  [5, 300, 24],
  [7, 64, 13],
  [13, 520, 40],
  [64, 96, 264],
  // decode's column blocks of 256 KB of y: 3 rows take 21,840 columns a block, so a second, short block
  [3, 16, 21870],
];

describe('the F32 matmul kernels', () => {
  for (const [rows, inF, outF] of SHAPES) {
    for (const [bias, accumulate] of [[false, false], [true, false], [true, true]] as const) {
      it(`[${rows}, ${inF}]·[${inF}, ${outF}]${bias ? ' + bias' : ''}${accumulate ? ', accumulated' : ''}: tfjs's result, and the same from the pool's jobs at any chunk count`, () => {
        const seed = rows * 1000 + inF + outF;
        const x = values(rows * inF, seed);
        const W = values(inF * outF, seed + 1);
        const b = bias ? values(outF, seed + 2) : null;
        const y0 = accumulate ? values(rows * outF, seed + 3) : null;
        const want = reference(x, W, b, y0, rows, inF, outF);
        const px = put(x);
        const pW = put(W);
        const pb = b ? put(b) : 0;
        const fresh = () => put(y0 ?? new Float32Array(rows * outF));
        const acc = accumulate ? 1 : 0;

        const y = fresh();
        k.exports.srs_matmul_f32(px, rows, pW, pb, y, inF, outF, 0, outF, acc);
        const one = read(y, rows * outF);
        expect(maxRelDiff(one, want)).toBeLessThan(1e-5);
        for (const chunks of [2, 3, 5, 8]) {
          const yc = fresh();
          run(JOB.matmulF32, [px, rows, pW, pb, yc, inF, outF, acc], chunks);
          expect(read(yc, rows * outF), `${chunks} chunks`).toEqual(one);
        }

        // A column range leaves the other columns as they were.
        const j0 = Math.min(8, outF - 1);
        const j1 = Math.max(j0 + 1, outF - 3);
        const yr = fresh();
        const before = read(yr, rows * outF);
        k.exports.srs_matmul_f32(px, rows, pW, pb, yr, inF, outF, j0, j1, acc);
        const part = read(yr, rows * outF);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < outF; j++) {
            const inside = j >= j0 && j < j1;
            const got = part[r * outF + j];
            if (inside) expect(Math.abs(got - want[r * outF + j]) / (1 + Math.abs(want[r * outF + j]))).toBeLessThan(1e-5);
            else expect(got).toBe(before[r * outF + j]);
          }
        }

        if (rows < 4) {
          // Decode's matmul: split over the inputs, reduced in part order, one thread or the pool's jobs alike.
          const partials = put(new Float32Array(KSPLIT * rows * outF));
          const ys = fresh();
          k.exports.srs_matvec_f32(px, rows, pW, pb, ys, inF, outF, acc, partials);
          const split = read(ys, rows * outF);
          expect(maxRelDiff(split, want)).toBeLessThan(1e-5);
          for (const blocks of [1, 2, 3]) {
            const yj = fresh();
            run(JOB.matvecF32, [px, rows, pW, partials, inF, outF], KSPLIT * blocks);
            k.exports.srs_matvec_reduce(partials, rows, outF, pb, yj, acc);
            expect(read(yj, rows * outF), `${blocks} column blocks`).toEqual(split);
          }
        }
      });
    }
  }
});

describe('the packed F32 format', () => {
  // rows, in, out (out a multiple of 8): decode's 1–3 rows, row tiles of 4 with tails, input tails of 1–3 and blocks of 256
  const PACKED: Array<[number, number, number]> = [[1, 16, 8], [2, 37, 24], [3, 40, 16], [5, 300, 24], [13, 520, 40], [64, 96, 264], [1, 1536, 64]];
  for (const [rows, inF, outF] of PACKED) {
    it(`[${rows}, ${inF}]·[${inF}, ${outF}] + bias, plain and accumulated: within 1e-5 of float64 from the panels, the same bits from the pool at any chunk count`, () => {
      const seed = rows * 7000 + inF + outF;
      const x = values(rows * inF, seed);
      const W = values(inF * outF, seed + 1);
      const b = values(outF, seed + 2);
      const y0 = values(rows * outF, seed + 3);
      const px = put(x);
      const pP = put(new Float32Array(inF * outF));
      k.exports.srs_pack_panels(put(W), inF, outF, pP);
      // P [out/8][in][8]: panel c/8 holds W[i][c…c+8) for every input i in turn.
      const P = read(pP, inF * outF);
      for (const [i, j] of [[0, 0], [inF - 1, outF - 1], [Math.floor(inF / 2), 9 % outF]]) expect(P[(j - (j % 8)) * inF + i * 8 + (j % 8)]).toBe(W[i * outF + j]);
      const pb = put(b);
      for (const acc of [0, 1]) {
        const want = reference64(x, W, b, acc ? y0 : null, rows, inF, outF);
        const fresh = () => put(acc ? y0 : new Float32Array(rows * outF));
        const y = fresh();
        k.exports.srs_matmul_f32p(px, rows, pP, pb, y, inF, outF, 0, outF, acc);
        const one = read(y, rows * outF);
        expect(maxRelDiff(one, want)).toBeLessThan(1e-5);
        for (const chunks of [2, 3, 5, 8]) {
          const yc = fresh();
          run(JOB.matmulF32p, [px, rows, pP, pb, yc, inF, outF, acc], chunks);
          expect(read(yc, rows * outF), `${chunks} chunks`).toEqual(one);
        }
      }
    });
  }
});

describe('packed F32 matmuls of one input as one job', () => {
  for (const rows of [1, 3, 6]) {
    it(`${rows} row(s) through three matrices of 24, 8 and 40 columns (q, k, v): each one's bits at any chunk count`, () => {
      const inF = 44;
      const outs = [24, 8, 40];
      const x = put(values(rows * inF, rows));
      const mats = outs.map((out, m) => {
        const P = put(new Float32Array(inF * out));
        k.exports.srs_pack_panels(put(values(inF * out, 100 + m)), inF, out, P);
        return { P, bias: m === 1 ? 0 : put(values(out, 200 + m)), out };
      });
      const want = mats.map(({ P, bias, out }) => {
        const y = put(new Float32Array(rows * out));
        k.exports.srs_matmul_f32p(x, rows, P, bias, y, inF, out, 0, out, 0);
        return read(y, rows * out);
      });
      for (const chunks of [1, 2, 3, 5, 8, 20]) {
        const ys = outs.map((out) => put(new Float32Array(rows * out)));
        run(JOB.matmulsF32p, [x, rows, inF, 0, 3, ...mats.flatMap((m, i) => [m.P, m.bias, ys[i], m.out])], chunks);
        ys.forEach((y, i) => expect(read(y, rows * outs[i]), `matrix ${i}, ${chunks} chunks`).toEqual(want[i]));
      }
    });
  }
});

describe("a prefill's norms, RoPE and SiLU as row-wise jobs", () => {
  // 13 rows: chunk counts that do not divide them, and more chunks than rows
  const rows = 13;
  const CHUNKS = [1, 2, 3, 5, 8, 20];
  it('RMSNorm (in place and into another buffer): the bits of one thread at any chunk count', () => {
    const n = 36;
    const w = put(values(n, 7));
    for (const inPlace of [false, true]) {
      const x0 = values(rows * n, 8);
      const want = put(x0);
      k.exports.srs_rmsnorm(want, rows, n, w, 1e-5, want);
      for (const chunks of CHUNKS) {
        const x = put(x0);
        const out = inPlace ? x : put(new Float32Array(rows * n));
        run(JOB.rowwise, [ROWWISE.rmsnorm, rows, x, n, w, f32Word(1e-5), out], chunks);
        expect(read(out, rows * n), `${chunks} chunks${inPlace ? ', in place' : ''}`).toEqual(read(want, rows * n));
      }
    }
  });
  it('RoPE over 3 heads, scaled: the bits of one thread at any chunk count', () => {
    const [heads, hD] = [3, 16];
    const cos = put(values(rows * hD, 9));
    const sin = put(values(rows * hD, 10));
    const x0 = values(rows * heads * hD, 11);
    const want = put(x0);
    k.exports.srs_rope(want, rows, heads, hD, cos, sin, 0.25);
    for (const chunks of CHUNKS) {
      const x = put(x0);
      run(JOB.rowwise, [ROWWISE.rope, rows, x, heads, hD, cos, sin, f32Word(0.25)], chunks);
      expect(read(x, rows * heads * hD), `${chunks} chunks`).toEqual(read(want, rows * heads * hD));
    }
  });
  it('SiLU(gate)·up, with gates out to ±90: the bits of one thread at any chunk count', () => {
    const n = 24;
    const g0 = values(rows * n, 12).map((v) => v * 90);
    const up = put(values(rows * n, 13));
    const want = put(g0);
    k.exports.srs_silu_mul(want, up, rows * n);
    for (const chunks of CHUNKS) {
      const g = put(g0);
      run(JOB.rowwise, [ROWWISE.siluMul, rows, g, n, up], chunks);
      expect(read(g, rows * n), `${chunks} chunks`).toEqual(read(want, rows * n));
    }
  });
});

describe('the attention kernel', () => {
  // kv heads of 2 query heads; of 3 (the lone third head goes two tokens at a time, paired by the part's stride)
  for (const [T, L, nH, nKV, hD] of [[19, 5, 6, 3, 8], [19, 5, 6, 2, 16]]) it(`gives the same output from the pool in kv heads × token parts as on one thread (${nH} query heads on ${nKV} kv heads)`, () => {
    const cap = 32;
    const q = put(values(T * nH * hD, 11));
    const K = put(values(nKV * cap * hD, 12));
    const V = put(values(nKV * cap * hD, 13));
    const real = put(Uint8Array.from({ length: cap }, (_, i) => (i === 2 ? 0 : 1)));
    const scores = put(new Float32Array(2 * cap * nKV * 8));
    const n = T * nH * hD;
    const single = put(new Float32Array(n));
    k.exports.srs_attention(q, K, V, real, T, L, nH, nKV, hD, cap, scores, single, 0, nKV);
    const want = read(single, n);
    expect(want.every(Number.isFinite)).toBe(true);
    for (const parts of [1, 2, 4, 8]) {
      const out = put(new Float32Array(n));
      run(JOB.attention, [q, K, V, real, T, L, nH, nKV, hD, cap, scores, 2 * cap, out, parts, 1], nKV * parts);
      expect(read(out, n), `${parts} parts`).toEqual(want);
    }
  });
  // A decode step: one token, its query heads by pairs (a lone last head alone) as chunks of their own.
  // On one thread a kv head's three query heads go together (attend3, the values in blocks of 128 positions): the
  // same bits as the pool's pairs and lone heads. L 300: more than one block, and a last block of keys under 4.
  for (const [nH, nKV, L, hD] of [[9, 3, 21, 16], [9, 3, 300, 64], [8, 2, 21, 16], [6, 3, 21, 16], [3, 3, 21, 16]]) it(`gives the same output for one token from the pool in kv heads × head pairs (${nH} query heads on ${nKV} kv heads, context ${L + 1})`, () => {
    const [T, cap] = [1, L + 11];
    const q = put(values(T * nH * hD, 21));
    const K = put(values(nKV * cap * hD, 22));
    const V = put(values(nKV * cap * hD, 23));
    const real = put(Uint8Array.from({ length: cap }, (_, i) => (i === 4 ? 0 : 1)));
    const heads = Math.ceil(nH / nKV / 2);
    const scores = put(new Float32Array(3 * cap * nKV * heads));
    const n = T * nH * hD;
    const single = put(new Float32Array(n));
    k.exports.srs_attention(q, K, V, real, T, L, nH, nKV, hD, cap, scores, single, 0, nKV);
    const want = read(single, n);
    expect(want.every(Number.isFinite)).toBe(true);
    const out = put(new Float32Array(n).fill(NaN));
    run(JOB.attention, [q, K, V, real, T, L, nH, nKV, hD, cap, scores, 2 * cap, out, 1, heads], nKV * heads);
    expect(read(out, n)).toEqual(want);
  });
});

/**
 * Causal attention in float64, as decode.c's srs_attention defines it: q [T, nH, hD] (already scaled), K/V
 * [nKV, cap, hD], token t sees positions s ≤ L + t with real[s] = 1 (masked ones score −1e9).
 */
function attentionReference(q: Float32Array, K: Float32Array, V: Float32Array, real: Uint8Array, T: number, L: number, nH: number, nKV: number, hD: number, cap: number): Float64Array {
  const out = new Float64Array(T * nH * hD);
  const groups = nH / nKV;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < nH; h++) {
      const j = Math.floor(h / groups);
      const S = L + t + 1;
      const sc = new Float64Array(S);
      for (let s = 0; s < S; s++) {
        let d = 0;
        for (let i = 0; i < hD; i++) d += q[(t * nH + h) * hD + i] * K[(j * cap + s) * hD + i];
        sc[s] = real[s] ? d : -1e9;
      }
      const m = Math.max(...sc);
      let sum = 0;
      for (let s = 0; s < S; s++) sum += sc[s] = Math.exp(sc[s] - m);
      for (let s = 0; s < S; s++) for (let i = 0; i < hD; i++) out[(t * nH + h) * hD + i] += (sc[s] / sum) * V[(j * cap + s) * hD + i];
    }
  return out;
}

describe('the attention kernel against a plain reference', () => {
  // T, L, nH, nKV, hD: kv heads of 3 query heads (a pair and a lone head), of 4 (two pairs) and of 1; hD a
  // multiple of 16 (query pairs weight the values in one pass) and not (one head at a time); T and L odd,
  // a masked position.
  const CASES: Array<[number, number, number, number, number]> = [
    [7, 3, 6, 2, 16],
    [5, 0, 4, 1, 20],
    [9, 6, 3, 3, 48],
    [1, 13, 9, 3, 64],
    [1, 200, 9, 3, 32],
  ];
  for (const [T, L, nH, nKV, hD] of CASES) {
    it(`T ${T}, L ${L}, ${nH} query heads on ${nKV} kv heads, head dim ${hD}: within 1e-5 of float64`, () => {
      const cap = L + T + 3;
      const qv = values(T * nH * hD, 21);
      const Kv = values(nKV * cap * hD, 22);
      const Vv = values(nKV * cap * hD, 23);
      const realv = Uint8Array.from({ length: cap }, (_, i) => (i === 1 ? 0 : 1));
      const n = T * nH * hD;
      const out = put(new Float32Array(n));
      k.exports.srs_attention(put(qv), put(Kv), put(Vv), put(realv), T, L, nH, nKV, hD, cap, put(new Float32Array(3 * cap * nKV)), out, 0, nKV);
      expect(maxRelDiff(read(out, n), attentionReference(qv, Kv, Vv, realv, T, L, nH, nKV, hD, cap))).toBeLessThan(1e-5);
    });
  }
});

describe('a long prompt on the kernels', () => {
  it('gives the tfjs forward pass\'s logits within 1e-4 (prefill in row tiles and token parts, then decode steps)', async () => {
    const config = { ...LLAMA3_TINY, num_key_value_heads: 2 };
    const { files } = randomCheckpoint(config, 7);
    const model = await loadModel(memorySource('kernels-jobs', files));
    try {
      const ids = Array.from({ length: 75 }, (_, i) => (i * 37 + 5) % model.config.vocabSize);
      const input = tf.tensor2d([ids], [1, ids.length], 'int32');
      const logits = forward(model, input);
      const want = ((await logits.array()) as number[][][])[0];
      tf.dispose([input, logits]);
      const d = openDecoder(model, 1);
      expect(d.kind).toMatch(/^wasm kernels/);
      const first = 70;
      const got: Float32Array[] = [(await d.step([ids.slice(0, first)])).row(0).slice()];
      for (let t = first; t < ids.length; t++) got.push((await d.step([[ids[t]]])).row(0).slice());
      d.dispose();
      for (let i = 0; i < got.length; i++) {
        const w = want[first - 1 + i];
        let m = 0;
        for (let j = 0; j < w.length; j++) m = Math.max(m, Math.abs(got[i][j] - w[j]));
        expect(m, `position ${first - 1 + i}`).toBeLessThan(1e-4);
      }
    } finally {
      model.dispose();
    }
  });
});
