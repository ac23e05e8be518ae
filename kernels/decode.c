/*
 * The Llama-family forward pass for inference, as WebAssembly SIMD kernels working in tfjs-wasm's own memory
 * (src/core/kernels/ loads this module with tfjs-wasm's WebAssembly.Memory as its memory). Every pointer is a
 * byte offset into that memory, given by the caller from tfjs tensors; nothing here allocates.
 *
 * The module must not own memory: no data segments (constants are immediates) and no globals besides the
 * stack pointer, which the caller points at a scratch block of its own (kernels/build.ts checks both).
 *
 * Layouts (row-major):
 *   x, h, y         [rows, n] activations, one row per token (B·T rows)
 *   W  (f32)        [in, out]  (the model's own layout: x·W)
 *   P  (f32 packed) [out/8, in, 8] panels of 8 output columns of W (the packed F32 weights)
 *   Q  (int8)       [out, in], groups of 32 along `in`; S [out, in/32] scales: w ≈ Q·S   (8-bit weights)
 *   xq (int8)       [rows, in] activations quantized per group of 32, xs [rows, in/32] their scales
 *   K, V            [nKV, cap, hD] one row's cache of one layer
 *
 * Work split for threads: the prefill's matmuls take an output column range [j0, j1), decode's F32 matmul a part
 * of its inputs (and a column range), attention a kv head and every n-th token; the caller splits and runs
 * ranges on several instances of this module over the same shared memory (see srs_run).
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define GROUP 32

typedef float f32;

static inline f32 hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

/* e^x to about 1 ulp in [-87, 88] (Cephes-style: x = n·ln2 + r, polynomial for e^r); 0 below, +inf above. */
static inline f32 exp_f32(f32 x) {
  if (x > 88.7f) return __builtin_inff();
  if (x < -87.0f) return 0.0f;
  f32 n = __builtin_rintf(x * 1.44269504088896341f);
  f32 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  f32 p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  f32 e = p * r * r + r + 1.0f;
  union { f32 f; uint32_t u; } s;
  s.u = (uint32_t)((int32_t)n + 127) << 23;
  return e * s.f;
}

/*
 * e^x for four lanes, as exp_f32 (0 below −87; e^88.7 above 88.7), for finite x: pmin/pmax clamp (one instruction
 * each, where min/max handle NaN and −0) and n = round(x·log2 e) comes from adding and subtracting 1.5·2^23,
 * whose bits then hold n (round to nearest even, as nearest).
 */
static inline v128_t exp_f32x4(v128_t x) {
  const v128_t magic = wasm_f32x4_splat(12582912.0f);
  v128_t tiny = wasm_f32x4_lt(x, wasm_f32x4_splat(-87.0f));
  x = wasm_f32x4_pmin(x, wasm_f32x4_splat(88.7f));
  x = wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f));
  v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), magic);
  v128_t n = wasm_f32x4_sub(t, magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  v128_t e = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), wasm_f32x4_splat(1.0f));
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(t, magic), wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(e, scale), tiny);
}

/* out[r] = x[r] / sqrt(mean(x[r]²) + eps) · w, for `rows` rows of n. out may be x. */
EXPORT(srs_rmsnorm) void srs_rmsnorm(const f32 *x, int rows, int n, const f32 *w, f32 eps, f32 *out) {
  for (int r = 0; r < rows; r++) {
    const f32 *xr = x + (long)r * n;
    f32 *o = out + (long)r * n;
    v128_t acc = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      v128_t v = wasm_v128_load(xr + i);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(v, v));
    }
    f32 ss = hsum(acc);
    for (; i < n; i++) ss += xr[i] * xr[i];
    f32 inv = 1.0f / __builtin_sqrtf(ss / (f32)n + eps);
    v128_t vinv = wasm_f32x4_splat(inv);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(o + i, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(xr + i), vinv), wasm_v128_load(w + i)));
    for (; i < n; i++) o[i] = xr[i] * inv * w[i];
  }
}

/*
 * The prefill's matmul (rows ≥ 4): panels of 8 output columns × blocks of KC inputs. Each panel block
 * W[k0…k0+KC, c…c+8) is first copied into a contiguous 8 KB block on the stack (rows of W lie `out` floats
 * apart: for out = 1536 every row of a panel maps to the same two L1 sets), then reused by every group of 4 x
 * rows: 8 accumulators in registers, per input 2 weight loads and 4 broadcasts for 16 multiply-adds.
 */
#define KC 256
#define NR 8

/* Copies W[k0…k0+kc, c…c+8) into p [kc][8]. */
static inline void pack_panel(const f32 *W, int out, int k0, int kc, int c, f32 *p) {
  const f32 *w = W + (long)k0 * out + c;
  for (int k = 0; k < kc; k++, w += out, p += NR) {
    wasm_v128_store(p, wasm_v128_load(w));
    wasm_v128_store(p + 4, wasm_v128_load(w + 4));
  }
}

/*
 * y[r…r+4, c…c+8) = x[r…r+4, k0…k0+kc)·p (+ what is there: `keep`) (+ bias[c…c+8) when bias), with x rows `in`
 * floats apart, y rows `out` apart, p a packed panel [kc][8].
 */
static inline void gemm_4x8(const f32 *x, int in, const f32 *p, int kc, f32 *y, int out, int keep, const f32 *bias) {
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, d0 = z, d1 = z;
  const f32 *x0 = x, *x1 = x0 + in, *x2 = x1 + in, *x3 = x2 + in;
  for (int k = 0; k < kc; k++, p += NR) {
    v128_t w0 = wasm_v128_load(p), w1 = wasm_v128_load(p + 4);
    v128_t s = wasm_v128_load32_splat(x0 + k);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, w0));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, w1));
    s = wasm_v128_load32_splat(x1 + k);
    b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(s, w0));
    b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(s, w1));
    s = wasm_v128_load32_splat(x2 + k);
    c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(s, w0));
    c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(s, w1));
    s = wasm_v128_load32_splat(x3 + k);
    d0 = wasm_f32x4_add(d0, wasm_f32x4_mul(s, w0));
    d1 = wasm_f32x4_add(d1, wasm_f32x4_mul(s, w1));
  }
  v128_t bl = bias ? wasm_v128_load(bias) : z, bh = bias ? wasm_v128_load(bias + 4) : z;
#define PUT(r, a, b) \
  do { \
    f32 *yr = y + (long)(r) * out; \
    wasm_v128_store(yr, wasm_f32x4_add(keep ? wasm_v128_load(yr) : z, wasm_f32x4_add(a, bl))); \
    wasm_v128_store(yr + 4, wasm_f32x4_add(keep ? wasm_v128_load(yr + 4) : z, wasm_f32x4_add(b, bh))); \
  } while (0)
  PUT(0, a0, a1); PUT(1, b0, b1); PUT(2, c0, c1); PUT(3, d0, d1);
#undef PUT
}

/* One x row against a packed panel, as gemm_4x8 (the last rows % 4 rows). */
static inline void gemm_1x8(const f32 *x, const f32 *p, int kc, f32 *y, int keep, const f32 *bias) {
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t a0 = z, a1 = z, e0 = z, e1 = z;
  int k = 0;
  for (; k + 2 <= kc; k += 2, p += 2 * NR) {
    v128_t s = wasm_v128_load32_splat(x + k), t = wasm_v128_load32_splat(x + k + 1);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(p)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(p + 4)));
    e0 = wasm_f32x4_add(e0, wasm_f32x4_mul(t, wasm_v128_load(p + 8)));
    e1 = wasm_f32x4_add(e1, wasm_f32x4_mul(t, wasm_v128_load(p + 12)));
  }
  if (k < kc) {
    v128_t s = wasm_v128_load32_splat(x + k);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(p)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(p + 4)));
  }
  a0 = wasm_f32x4_add(a0, e0);
  a1 = wasm_f32x4_add(a1, e1);
  if (bias) {
    a0 = wasm_f32x4_add(a0, wasm_v128_load(bias));
    a1 = wasm_f32x4_add(a1, wasm_v128_load(bias + 4));
  }
  wasm_v128_store(y, keep ? wasm_f32x4_add(wasm_v128_load(y), a0) : a0);
  wasm_v128_store(y + 4, keep ? wasm_f32x4_add(wasm_v128_load(y + 4), a1) : a1);
}

static void matvec_f32(const f32 *x, int lx, int rows, const f32 *W, const f32 *bias, f32 *y, int in, int out, int j0, int j1, int accumulate);

/* y[r, j] = Σ_i x[r, i]·W[i, j] (+ bias[j]) (+ y[r, j] when accumulate), for j in [j0, j1). W [in, out]. */
EXPORT(srs_matmul_f32)
void srs_matmul_f32(const f32 *x, int rows, const f32 *W, const f32 *bias, f32 *y, int in, int out, int j0, int j1, int accumulate) {
  int c1 = j0 + ((j1 - j0) & ~(NR - 1));
  if (rows < 4 || c1 == j0) return matvec_f32(x, in, rows, W, bias, y, in, out, j0, j1, accumulate);
  f32 panel[KC * NR];
  int full = rows & ~3;
  for (int c = j0; c < c1; c += NR)
    for (int k0 = 0; k0 < in; k0 += KC) {
      int kc = in - k0 < KC ? in - k0 : KC;
      /* The first block of inputs starts from the bias (and y when accumulating), later ones from y. */
      int keep = k0 > 0 || accumulate;
      const f32 *b = bias && k0 == 0 ? bias + c : 0;
      pack_panel(W, out, k0, kc, c, panel);
      int r = 0;
      for (; r < full; r += 4) gemm_4x8(x + (long)r * in + k0, in, panel, kc, y + (long)r * out + c, out, keep, b);
      for (; r < rows; r++) gemm_1x8(x + (long)r * in + k0, panel, kc, y + (long)r * out + c, keep, b);
    }
  if (c1 < j1) matvec_f32(x, in, rows, W, bias, y, in, out, c1, j1, accumulate);
}

/*
 * y[r, j] = (y[r, j] when accumulate, else 0) (+ bias[j]) + Σ_i x[r, i]·W[i, j] for j in [j0, j1), inputs i < in,
 * W [in, out]: input rows i and i + in/2 go together, so that the two halves of W stream at once as two long runs
 * of memory (each row read start to end, the next row next), and each column adds (x[i]·W[i, j] + x[i + in/2]·W[i +
 * in/2, j]) in turn (an odd last row last). x rows lie lx floats apart.
 */
static void matvec_f32(const f32 *x, int lx, int rows, const f32 *W, const f32 *bias, f32 *y, int in, int out, int j0, int j1, int accumulate) {
  /* Columns in blocks of 256 KB of y (all rows), which stay in L2 while W streams past: for the tied LM head
     (out = 49,152) one block per row, so each W row is read start to end (blocks of 32 KB read it in pieces a
     row apart, 16 → 21 GB/s). */
  int BLOCK = (65536 / (rows > 0 ? rows : 1)) & ~15, h = in / 2;
  if (BLOCK < 64) BLOCK = 64;
  for (int c0 = j0; c0 < j1; c0 += BLOCK) {
    int c1 = c0 + BLOCK < j1 ? c0 + BLOCK : j1;
    for (int r = 0; r < rows; r++) {
      f32 *yr = y + (long)r * out;
      for (int j = c0; j < c1; j++) yr[j] = (accumulate ? yr[j] : 0.0f) + (bias ? bias[j] : 0.0f);
    }
    for (int i = 0; i < h; i++) {
      const f32 *wa = W + (long)i * out, *wb = wa + (long)h * out;
      for (int r = 0; r < rows; r++) {
        const f32 *xr = x + (long)r * lx;
        f32 *yr = y + (long)r * out;
        v128_t a = wasm_f32x4_splat(xr[i]), b = wasm_f32x4_splat(xr[i + h]);
        int j = c0;
        for (; j + 4 <= c1; j += 4)
          wasm_v128_store(yr + j, wasm_f32x4_add(wasm_v128_load(yr + j), wasm_f32x4_add(wasm_f32x4_mul(a, wasm_v128_load(wa + j)), wasm_f32x4_mul(b, wasm_v128_load(wb + j)))));
        for (; j < c1; j++) yr[j] += xr[i] * wa[j] + xr[i + h] * wb[j];
      }
    }
    if (in % 2) {
      /* the odd last input row alone */
      const f32 *w = W + (long)(in - 1) * out;
      for (int r = 0; r < rows; r++) {
        f32 xv = x[(long)r * lx + in - 1], *yr = y + (long)r * out;
        for (int j = c0; j < c1; j++) yr[j] += xv * w[j];
      }
    }
  }
}

/*
 * Decode's matmul (rows < 4) in KSPLIT parts of the inputs: part p reads the contiguous block of W's rows
 * [i0, i1) as its two halves at once (matvec_f32; a split by columns would read a short piece of every row)
 * and writes its partial sums P[p] [rows, out] for columns [j0, j1); srs_matvec_reduce adds the parts in order.
 * The same parts in the same order however many threads run, so the logits do not depend on the thread count.
 */
#define KSPLIT 4

static void matvec_part(const f32 *x, int rows, const f32 *W, f32 *P, int in, int out, int part, int j0, int j1) {
  int step = (in / KSPLIT + 7) & ~7, i0 = part * step, i1 = part == KSPLIT - 1 ? in : i0 + step;
  if (i0 > in) i0 = in;
  if (i1 > in) i1 = in;
  f32 *Pp = P + (long)part * rows * out;
  matvec_f32(x + i0, in, rows, W + (long)i0 * out, 0, Pp, i1 - i0, out, j0, j1, 0);
}

/* y[r, j] = (y[r, j] when accumulate) + bias[j] + ((P[0] + P[1]) + P[2]) + P[3], for all rows and columns. */
EXPORT(srs_matvec_reduce) void srs_matvec_reduce(const f32 *P, int rows, int out, const f32 *bias, f32 *y, int accumulate) {
  long n = (long)rows * out;
  for (long e = 0; e < n; e++) {
    f32 v = P[e];
    for (int p = 1; p < KSPLIT; p++) v += P[p * n + e];
    if (bias) v += bias[e % out];
    y[e] = accumulate ? y[e] + v : v;
  }
}

/* The whole of decode's split matmul on the caller's thread; P: scratch of KSPLIT·rows·out floats. */
EXPORT(srs_matvec_f32) void srs_matvec_f32(const f32 *x, int rows, const f32 *W, const f32 *bias, f32 *y, int in, int out, int accumulate, f32 *P) {
  for (int p = 0; p < KSPLIT; p++) matvec_part(x, rows, W, P, in, out, p, 0, out);
  srs_matvec_reduce(P, rows, out, bias, y, accumulate);
}

/*
 * The packed F32 format (opt-in, inference only): W [in, out] repacked once into panels of 8 output columns,
 * P [out/8][in][8] (out % 8 == 0), so that a panel is one contiguous run of memory. Decode streams every panel
 * once from start to end (W's own layout made it read eight rows at a time and add into y for every four
 * columns), and the prefill reads a panel block as it is, with no copy (pack_panel's layout). A column's sum runs
 * over the inputs in the same order whatever the range of columns a thread takes, so the logits do not depend
 * on the thread count.
 */

/* P [out/8][in][8] ← W [in, out]. */
EXPORT(srs_pack_panels) void srs_pack_panels(const f32 *W, int in, int out, f32 *P) {
  for (int c = 0; c < out; c += NR) pack_panel(W, out, 0, in, c, P + (long)c * in);
}

/*
 * y[r, c…c+8) (+)= Σ_i x[r, i]·p[i][0…8) (+ bias[c…c+8)), p one panel [in][8]: each column's products added in
 * input order into one accumulator, the sum panel_dot2 gives each of its columns.
 */
static inline void panel_dot(const f32 *x, const f32 *p, int in, f32 *y, int keep, const f32 *bias) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
  for (int i = 0; i < in; i++, p += NR) {
    v128_t s = wasm_v128_load32_splat(x + i);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(p)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(p + 4)));
  }
  if (bias) {
    a0 = wasm_f32x4_add(a0, wasm_v128_load(bias));
    a1 = wasm_f32x4_add(a1, wasm_v128_load(bias + 4));
  }
  wasm_v128_store(y, keep ? wasm_f32x4_add(wasm_v128_load(y), a0) : a0);
  wasm_v128_store(y + 4, keep ? wasm_f32x4_add(wasm_v128_load(y + 4), a1) : a1);
}

/* panel_dot on two panels p and q at once (y columns yp…yp+8 and yq…yq+8), each column's sum as panel_dot's. */
static inline void panel_dot2(const f32 *x, const f32 *p, const f32 *q, int in, f32 *yp, f32 *yq, int keep, const f32 *bp, const f32 *bq) {
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t a0 = z, a1 = z, b0 = z, b1 = z;
  for (int i = 0; i < in; i++, p += NR, q += NR) {
    v128_t s = wasm_v128_load32_splat(x + i);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(p)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(p + 4)));
    b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(s, wasm_v128_load(q)));
    b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(s, wasm_v128_load(q + 4)));
  }
  if (bp) {
    a0 = wasm_f32x4_add(a0, wasm_v128_load(bp));
    a1 = wasm_f32x4_add(a1, wasm_v128_load(bp + 4));
    b0 = wasm_f32x4_add(b0, wasm_v128_load(bq));
    b1 = wasm_f32x4_add(b1, wasm_v128_load(bq + 4));
  }
  wasm_v128_store(yp, keep ? wasm_f32x4_add(wasm_v128_load(yp), a0) : a0);
  wasm_v128_store(yp + 4, keep ? wasm_f32x4_add(wasm_v128_load(yp + 4), a1) : a1);
  wasm_v128_store(yq, keep ? wasm_f32x4_add(wasm_v128_load(yq), b0) : b0);
  wasm_v128_store(yq + 4, keep ? wasm_f32x4_add(wasm_v128_load(yq + 4), b1) : b1);
}

/*
 * y[r, j] = Σ_i x[r, i]·W[i, j] (+ bias[j]) (+ y[r, j] when accumulate) for j in [j0, j1) (multiples of 8), W as
 * panels P. Fewer than 4 rows: each row reads the range's panels in two halves at once, panel c beside panel
 * c + half (two long runs of memory in flight: in a decode step 20.2 → 16.4–17.9 ms for the matmuls on one
 * thread), a lone last panel alone (a later row finds the panels in cache); 4 rows or more: as srs_matmul_f32 on
 * the panels' blocks as they lie.
 */
EXPORT(srs_matmul_f32p)
void srs_matmul_f32p(const f32 *x, int rows, const f32 *P, const f32 *bias, f32 *y, int in, int out, int j0, int j1, int accumulate) {
  int full = rows < 4 ? 0 : rows & ~3;
  for (int c = j0; c < j1; c += NR) {
    const f32 *panel = P + (long)c * in;
    const f32 *b = bias ? bias + c : 0;
    for (int k0 = 0; k0 < in && full; k0 += KC) {
      int kc = in - k0 < KC ? in - k0 : KC;
      for (int r = 0; r < full; r += 4) gemm_4x8(x + (long)r * in + k0, in, panel + (long)k0 * NR, kc, y + (long)r * out + c, out, k0 > 0 || accumulate, k0 == 0 ? b : 0);
    }
  }
  for (int r = full; r < rows; r++) {
    const f32 *xr = x + (long)r * in;
    f32 *yr = y + (long)r * out;
    int half = ((j1 - j0) / NR / 2) * NR;
    for (int c = j0; c < j0 + half; c += NR) {
      int d = c + half;
      panel_dot2(xr, P + (long)c * in, P + (long)d * in, in, yr + c, yr + d, accumulate, bias ? bias + c : 0, bias ? bias + d : 0);
    }
    for (int c = j0 + 2 * half; c < j1; c += NR) panel_dot(xr, P + (long)c * in, in, yr + c, accumulate, bias ? bias + c : 0);
  }
}

/* Quantizes rows of x [rows, in] to int8 per group of 32 (in % 32 == 0): xq = round(x / s), s = max|x| / 127. */
EXPORT(srs_quantize_rows) void srs_quantize_rows(const f32 *x, int rows, int in, int8_t *xq, f32 *xs) {
  int groups = in / GROUP;
  for (int r = 0; r < rows; r++) {
    for (int g = 0; g < groups; g++) {
      const f32 *v = x + (long)r * in + g * GROUP;
      v128_t m = wasm_f32x4_splat(0.0f);
      for (int k = 0; k < GROUP; k += 4) m = wasm_f32x4_max(m, wasm_f32x4_abs(wasm_v128_load(v + k)));
      f32 amax = wasm_f32x4_extract_lane(m, 0);
      for (int l = 1; l < 4; l++) {
        f32 e = l == 1 ? wasm_f32x4_extract_lane(m, 1) : l == 2 ? wasm_f32x4_extract_lane(m, 2) : wasm_f32x4_extract_lane(m, 3);
        amax = e > amax ? e : amax;
      }
      f32 s = amax / 127.0f;
      f32 inv = s > 0.0f ? 1.0f / s : 0.0f;
      xs[(long)r * groups + g] = s;
      int8_t *q = xq + (long)r * in + g * GROUP;
      v128_t vinv = wasm_f32x4_splat(inv);
      for (int k = 0; k < GROUP; k += 16) {
        v128_t i0 = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(v + k), vinv)));
        v128_t i1 = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(v + k + 4), vinv)));
        v128_t i2 = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(v + k + 8), vinv)));
        v128_t i3 = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(v + k + 12), vinv)));
        v128_t h0 = wasm_i16x8_narrow_i32x4(i0, i1), h1 = wasm_i16x8_narrow_i32x4(i2, i3);
        wasm_v128_store(q + k, wasm_i8x16_narrow_i16x8(h0, h1));
      }
    }
  }
}

/* Σ over one group of 32: int8 · int8 → int32 lanes. */
static inline v128_t dot32(const int8_t *a, const int8_t *b) {
  v128_t a0 = wasm_v128_load(a), a1 = wasm_v128_load(a + 16);
  v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 16);
  v128_t d = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a0), wasm_i16x8_extend_low_i8x16(b0));
  d = wasm_i32x4_add(d, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a0), wasm_i16x8_extend_high_i8x16(b0)));
  d = wasm_i32x4_add(d, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a1), wasm_i16x8_extend_low_i8x16(b1)));
  return wasm_i32x4_add(d, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a1), wasm_i16x8_extend_high_i8x16(b1)));
}

/*
 * y[r, j] = Σ_g S[j, g]·xs[r, g]·Σ_{k∈g} Q[j, k]·xq[r, k] (+ bias[j]) (+ y[r, j] when accumulate), j in [j0, j1).
 * Q [out, in] int8, S [out, in/32]. Blocks of 8 weight rows are reused for every activation row.
 */
EXPORT(srs_matmul_q8)
void srs_matmul_q8(const int8_t *xq, const f32 *xs, int rows, const int8_t *Q, const f32 *S, const f32 *bias, f32 *y, int in, int out, int j0, int j1, int accumulate) {
  int groups = in / GROUP;
  const int BLOCK = 8;
  for (int b0 = j0; b0 < j1; b0 += BLOCK) {
    int b1 = b0 + BLOCK < j1 ? b0 + BLOCK : j1;
    for (int r = 0; r < rows; r++) {
      const int8_t *xr = xq + (long)r * in;
      const f32 *sr = xs + (long)r * groups;
      f32 *yr = y + (long)r * out;
      for (int j = b0; j < b1; j++) {
        const int8_t *qj = Q + (long)j * in;
        const f32 *sj = S + (long)j * groups;
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int g = 0; g < groups; g++) {
          v128_t d = dot32(qj + g * GROUP, xr + g * GROUP);
          acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(d), wasm_f32x4_splat(sj[g] * sr[g])));
        }
        f32 v = hsum(acc) + (bias ? bias[j] : 0.0f);
        yr[j] = accumulate ? yr[j] + v : v;
      }
    }
  }
}

/*
 * RoPE (rotate_half form) on x [rows, heads, hD] in place, with cos/sin [rows, hD] for each row's position, then
 * x *= scale (1/√hD for queries, 1 for keys).
 */
EXPORT(srs_rope) void srs_rope(f32 *x, int rows, int heads, int hD, const f32 *cos, const f32 *sin, f32 scale) {
  int half = hD / 2;
  for (int r = 0; r < rows; r++) {
    const f32 *c = cos + (long)r * hD, *s = sin + (long)r * hD;
    for (int h = 0; h < heads; h++) {
      f32 *v = x + ((long)r * heads + h) * hD;
      for (int i = 0; i < half; i++) {
        f32 a = v[i], b = v[i + half];
        v[i] = (a * c[i] + (-b) * s[i]) * scale;
        v[i + half] = (b * c[i + half] + a * s[i + half]) * scale;
      }
    }
  }
}

/* gate[i] = silu(gate[i])·up[i] = gate·sigmoid(gate)·up, four lanes at a time (exp_f32x4). */
EXPORT(srs_silu_mul) void srs_silu_mul(f32 *gate, const f32 *up, int n) {
  v128_t one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t g = wasm_v128_load(gate + i);
    v128_t sig = wasm_f32x4_div(one, wasm_f32x4_add(one, exp_f32x4(wasm_f32x4_neg(g))));
    wasm_v128_store(gate + i, wasm_f32x4_mul(wasm_f32x4_mul(g, sig), wasm_v128_load(up + i)));
  }
  for (; i < n; i++) {
    f32 g = gate[i];
    gate[i] = g * (1.0f / (1.0f + exp_f32(-g))) * up[i];
  }
}

/* Writes T new keys (or values) src [T, nKV·hD] of one cache row into C [nKV, cap, hD] at positions pos…pos+T−1. */
EXPORT(srs_kv_write) void srs_kv_write(const f32 *src, f32 *C, int T, int nKV, int hD, int cap, int pos) {
  for (int t = 0; t < T; t++)
    for (int j = 0; j < nKV; j++) {
      const f32 *s = src + ((long)t * nKV + j) * hD;
      f32 *d = C + ((long)j * cap + pos + t) * hD;
      for (int i = 0; i < hD; i++) d[i] = s[i];
    }
}

/* [Σa, Σb, Σc, Σd] of four vectors. */
static inline v128_t hsum4(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t ab = wasm_f32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
  v128_t cd = wasm_f32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* (v0 + v2) + (v1 + v3): the order of each lane of hsum4. */
static inline f32 hsum_pairs(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 2)) + (wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 3));
}

/* The score of one query vector against one key k: four lanes in input order, then hsum_pairs (the last S % 4 keys of a row). */
static inline f32 score1(const f32 *qa, const f32 *k, int hD) {
  v128_t a = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < hD; i += 4) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(qa + i), wasm_v128_load(k + i)));
  return hsum_pairs(a);
}

/* Masked keys (real[s] == 0) score −1e9. */
static inline void mask_scores(f32 *sa, const uint8_t *real, int S) {
  for (int s = 0; s < S; s++)
    if (!real[s]) sa[s] = -1e9f;
}

/*
 * Scores of two query vectors qa, qb (qb may equal qa) against keys 0…S−1 (hD % 4 == 0): four keys at a time, each
 * key vector loaded once for both, the last S % 4 keys one by one with the same sums in the same order, so that a
 * key's score does not depend on S. Masked keys (real[s] == 0) score −1e9.
 */
static void scores2(const f32 *qa, const f32 *qb, const f32 *K, const uint8_t *real, int S, int hD, f32 *sa, f32 *sb) {
  int s = 0;
  v128_t z = wasm_f32x4_splat(0.0f);
  for (; s + 4 <= S; s += 4) {
    const f32 *k0 = K + (long)s * hD, *k1 = k0 + hD, *k2 = k1 + hD, *k3 = k2 + hD;
    v128_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
    for (int i = 0; i < hD; i += 4) {
      v128_t va = wasm_v128_load(qa + i), vb = wasm_v128_load(qb + i);
      v128_t w0 = wasm_v128_load(k0 + i), w1 = wasm_v128_load(k1 + i), w2 = wasm_v128_load(k2 + i), w3 = wasm_v128_load(k3 + i);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(va, w0));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(va, w1));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(va, w2));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(va, w3));
      b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(vb, w0));
      b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(vb, w1));
      b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(vb, w2));
      b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(vb, w3));
    }
    wasm_v128_store(sa + s, hsum4(a0, a1, a2, a3));
    wasm_v128_store(sb + s, hsum4(b0, b1, b2, b3));
  }
  for (; s < S; s++) {
    sa[s] = score1(qa, K + (long)s * hD, hD);
    sb[s] = score1(qb, K + (long)s * hD, hD);
  }
  mask_scores(sa, real, S);
  mask_scores(sb, real, S);
}

/* sc[0…S) ← softmax(sc) in place (the maximum four lanes at a time). */
static void softmax_inplace(f32 *sc, int S) {
  v128_t mx = wasm_f32x4_splat(-1e30f);
  int s = 0;
  for (; s + 4 <= S; s += 4) mx = wasm_f32x4_pmax(mx, wasm_v128_load(sc + s));
  f32 m = wasm_f32x4_extract_lane(mx, 0);
  for (int l = 1; l < 4; l++) {
    f32 e = l == 1 ? wasm_f32x4_extract_lane(mx, 1) : l == 2 ? wasm_f32x4_extract_lane(mx, 2) : wasm_f32x4_extract_lane(mx, 3);
    m = e > m ? e : m;
  }
  for (; s < S; s++) m = sc[s] > m ? sc[s] : m;
  v128_t vm = wasm_f32x4_splat(m), acc = wasm_f32x4_splat(0.0f);
  s = 0;
  for (; s + 4 <= S; s += 4) {
    v128_t e = exp_f32x4(wasm_f32x4_sub(wasm_v128_load(sc + s), vm));
    wasm_v128_store(sc + s, e);
    acc = wasm_f32x4_add(acc, e);
  }
  f32 sum = hsum(acc);
  for (; s < S; s++) sum += sc[s] = exp_f32(sc[s] - m);
  v128_t inv = wasm_f32x4_splat(1.0f / sum);
  for (s = 0; s + 4 <= S; s += 4) wasm_v128_store(sc + s, wasm_f32x4_mul(wasm_v128_load(sc + s), inv));
  for (; s < S; s++) sc[s] *= 1.0f / sum;
}

/* o[0…hD) = Σ_s p[s]·V[s] (hD % 4 == 0), eight output vectors in registers at a time. */
static void weighted_values(const f32 *p, const f32 *V, int S, int hD, f32 *o) {
  v128_t z = wasm_f32x4_splat(0.0f);
  int i0 = 0;
  for (; i0 + 32 <= hD; i0 += 32) {
    v128_t o0 = z, o1 = z, o2 = z, o3 = z, o4 = z, o5 = z, o6 = z, o7 = z;
    const f32 *v = V + i0;
    for (int s = 0; s < S; s++, v += hD) {
      v128_t w = wasm_f32x4_splat(p[s]);
      o0 = wasm_f32x4_add(o0, wasm_f32x4_mul(w, wasm_v128_load(v)));
      o1 = wasm_f32x4_add(o1, wasm_f32x4_mul(w, wasm_v128_load(v + 4)));
      o2 = wasm_f32x4_add(o2, wasm_f32x4_mul(w, wasm_v128_load(v + 8)));
      o3 = wasm_f32x4_add(o3, wasm_f32x4_mul(w, wasm_v128_load(v + 12)));
      o4 = wasm_f32x4_add(o4, wasm_f32x4_mul(w, wasm_v128_load(v + 16)));
      o5 = wasm_f32x4_add(o5, wasm_f32x4_mul(w, wasm_v128_load(v + 20)));
      o6 = wasm_f32x4_add(o6, wasm_f32x4_mul(w, wasm_v128_load(v + 24)));
      o7 = wasm_f32x4_add(o7, wasm_f32x4_mul(w, wasm_v128_load(v + 28)));
    }
    wasm_v128_store(o + i0, o0); wasm_v128_store(o + i0 + 4, o1); wasm_v128_store(o + i0 + 8, o2); wasm_v128_store(o + i0 + 12, o3);
    wasm_v128_store(o + i0 + 16, o4); wasm_v128_store(o + i0 + 20, o5); wasm_v128_store(o + i0 + 24, o6); wasm_v128_store(o + i0 + 28, o7);
  }
  for (; i0 < hD; i0 += 4) {
    v128_t a = z;
    for (int s = 0; s < S; s++) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_f32x4_splat(p[s]), wasm_v128_load(V + (long)s * hD + i0)));
    wasm_v128_store(o + i0, a);
  }
}

/* oa = Σ_s pa[s]·V[s], ob = Σ_s pb[s]·V[s] (hD % 16 == 0): each V vector loaded once for both heads. */
static void weighted_values2(const f32 *pa, const f32 *pb, const f32 *V, int S, int hD, f32 *oa, f32 *ob) {
  v128_t z = wasm_f32x4_splat(0.0f);
  for (int i0 = 0; i0 < hD; i0 += 16) {
    v128_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
    const f32 *v = V + i0;
    for (int s = 0; s < S; s++, v += hD) {
      v128_t wa = wasm_v128_load32_splat(pa + s), wb = wasm_v128_load32_splat(pb + s);
      v128_t v0 = wasm_v128_load(v), v1 = wasm_v128_load(v + 4), v2 = wasm_v128_load(v + 8), v3 = wasm_v128_load(v + 12);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wa, v0));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wa, v1));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wa, v2));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wa, v3));
      b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(wb, v0));
      b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(wb, v1));
      b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(wb, v2));
      b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(wb, v3));
    }
    wasm_v128_store(oa + i0, a0); wasm_v128_store(oa + i0 + 4, a1); wasm_v128_store(oa + i0 + 8, a2); wasm_v128_store(oa + i0 + 12, a3);
    wasm_v128_store(ob + i0, b0); wasm_v128_store(ob + i0 + 4, b1); wasm_v128_store(ob + i0 + 8, b2); wasm_v128_store(ob + i0 + 12, b3);
  }
}

/*
 * Attention of query vectors qa (over keys 0…Sa−1) and qb (over 0…Sb−1, Sb ≥ Sa) of one kv head: two query heads
 * of one token (Sa = Sb), or one head of two tokens. qa's probabilities past Sa are zeroed so that both weight
 * the values in one pass; adding those zeros changes no sum, so qa's output is bit for bit what it gets alone.
 */
static void attend2(const f32 *qa, const f32 *qb, int Sa, int Sb, const f32 *Kj, const f32 *Vj, const uint8_t *real, int hD, f32 *sa, f32 *sb, f32 *oa, f32 *ob) {
  scores2(qa, qb, Kj, real, Sb, hD, sa, sb);
  softmax_inplace(sa, Sa);
  softmax_inplace(sb, Sb);
  if (hD % 16 == 0) {
    for (int s = Sa; s < Sb; s++) sa[s] = 0.0f;
    weighted_values2(sa, sb, Vj, Sb, hD, oa, ob);
  } else {
    weighted_values(sa, Vj, Sa, hD, oa);
    weighted_values(sb, Vj, Sb, hD, ob);
  }
}

/* Scores of one query vector against the four keys k0…k0+4·hD, summed as scores2 sums each of its two. */
static inline v128_t score_block4(const f32 *qa, const f32 *k0, int hD) {
  const f32 *k1 = k0 + hD, *k2 = k1 + hD, *k3 = k2 + hD;
  v128_t z = wasm_f32x4_splat(0.0f), a0 = z, a1 = z, a2 = z, a3 = z;
  for (int i = 0; i < hD; i += 4) {
    v128_t va = wasm_v128_load(qa + i);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(va, wasm_v128_load(k0 + i)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(va, wasm_v128_load(k1 + i)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(va, wasm_v128_load(k2 + i)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(va, wasm_v128_load(k3 + i)));
  }
  return hsum4(a0, a1, a2, a3);
}

/* scores2 for one query vector: the same sums in the same order, so the same scores, at half the work. */
static void scores1(const f32 *qa, const f32 *K, const uint8_t *real, int S, int hD, f32 *sa) {
  int s = 0;
  for (; s + 4 <= S; s += 4) wasm_v128_store(sa + s, score_block4(qa, K + (long)s * hD, hD));
  for (; s < S; s++) sa[s] = score1(qa, K + (long)s * hD, hD);
  mask_scores(sa, real, S);
}

/* One query vector alone. */
static void attend1(const f32 *qa, int S, const f32 *Kj, const f32 *Vj, const uint8_t *real, int hD, f32 *sa, f32 *oa) {
  scores1(qa, Kj, real, S, hD, sa);
  softmax_inplace(sa, S);
  weighted_values(sa, Vj, S, hD, oa);
}

/*
 * One token's three query heads of one kv head, keys and values read from memory once for the three (a lone head
 * after a pair would read them again): each block of four keys scored for every head while it is in L1, the values
 * weighted in blocks of positions that stay in L1 while every head and column passes them. Each head's sums are
 * those of attend2 / attend1, in the same order, so the output is the same bits. hD % 8 == 0; s: 3·cap floats.
 */
static void attend3(const f32 *const qs[3], int S, const f32 *K, const f32 *V, const uint8_t *real, int hD, int cap, f32 *s, f32 *const os[3]) {
  f32 *sc[3] = {s, s + cap, s + 2 * cap};
  int n = 0;
  for (; n + 4 <= S; n += 4)
    for (int h = 0; h < 3; h++) wasm_v128_store(sc[h] + n, score_block4(qs[h], K + (long)n * hD, hD));
  for (int h = 0; h < 3; h++) {
    for (int m = n; m < S; m++) sc[h][m] = score1(qs[h], K + (long)m * hD, hD);
    mask_scores(sc[h], real, S);
    softmax_inplace(sc[h], S);
  }
  enum { SB = 128 };
  for (int s0 = 0; s0 < S; s0 += SB) {
    int s1 = s0 + SB < S ? s0 + SB : S;
    for (int i0 = 0; i0 < hD; i0 += 8) {
      v128_t z = wasm_f32x4_splat(0.0f);
      v128_t a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z;
      if (s0) {
        a0 = wasm_v128_load(os[0] + i0), a1 = wasm_v128_load(os[0] + i0 + 4);
        b0 = wasm_v128_load(os[1] + i0), b1 = wasm_v128_load(os[1] + i0 + 4);
        c0 = wasm_v128_load(os[2] + i0), c1 = wasm_v128_load(os[2] + i0 + 4);
      }
      const f32 *v = V + (long)s0 * hD + i0;
      for (int m = s0; m < s1; m++, v += hD) {
        v128_t v0 = wasm_v128_load(v), v1 = wasm_v128_load(v + 4);
        v128_t wa = wasm_v128_load32_splat(sc[0] + m), wb = wasm_v128_load32_splat(sc[1] + m), wc = wasm_v128_load32_splat(sc[2] + m);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wa, v0));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wa, v1));
        b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(wb, v0));
        b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(wb, v1));
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wc, v0));
        c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wc, v1));
      }
      wasm_v128_store(os[0] + i0, a0); wasm_v128_store(os[0] + i0 + 4, a1);
      wasm_v128_store(os[1] + i0, b0); wasm_v128_store(os[1] + i0 + 4, b1);
      wasm_v128_store(os[2] + i0, c0); wasm_v128_store(os[2] + i0 + 4, c1);
    }
  }
}

/*
 * Causal attention of one cache row for the query heads of kv heads [j0, j1) and tokens t0, t0 + tstep, … < T:
 * q [T, nH·hD] (scaled and rotated), K/V [nKV, cap, hD] holding positions 0…L+T−1 (the T new ones at L…), real
 * [cap] (1 = a real token, 0 = padding). Token t sees positions s ≤ L + t that are real. Query head h uses kv
 * head h / (nH / nKV); a kv head's query heads go two at a time, and when their count is odd the last one goes
 * for two tokens at a time. Only the pairs of a kv head's query heads in [g0, g1) run (g0 even; the lone last
 * head with the pair that would hold it), so that a decode step's heads can be shared among threads; each head
 * gets the same sums whatever the range. hD % 4 == 0. scores: scratch of `per` floats per kv head (2·cap, or
 * 3·cap to let one token's three query heads of a kv head go together: attend3) at (j − j0)·per… out [T, nH·hD].
 */
static void attention(const f32 *q, const f32 *K, const f32 *V, const uint8_t *real, int T, int L, int nH, int nKV, int hD, int cap, f32 *scores, int per, f32 *out, int j0, int j1, int t0, int tstep, int g0, int g1) {
  int groups = nH / nKV;
#define QV(t, h) (q + ((long)(t) * nH + (h)) * hD)
#define OV(t, h) (out + ((long)(t) * nH + (h)) * hD)
  for (int j = j0; j < j1; j++) {
    const f32 *Kj = K + (long)j * cap * hD, *Vj = V + (long)j * cap * hD;
    f32 *sa = scores + (long)(j - j0) * per, *sb = sa + cap;
    if (T == 1 && groups == 3 && g0 == 0 && g1 >= 3 && per >= 3 * cap && hD % 8 == 0) {
      int h = j * groups;
      const f32 *qs[3] = {QV(0, h), QV(0, h + 1), QV(0, h + 2)};
      f32 *os[3] = {OV(0, h), OV(0, h + 1), OV(0, h + 2)};
      attend3(qs, L + 1, Kj, Vj, real, hD, cap, sa, os);
      continue;
    }
    for (int t = t0; t < T; t += tstep)
      for (int g = g0; g + 1 < groups && g < g1; g += 2) {
        int h = j * groups + g;
        attend2(QV(t, h), QV(t, h + 1), L + t + 1, L + t + 1, Kj, Vj, real, hD, sa, sb, OV(t, h), OV(t, h + 1));
      }
    if (groups % 2 && g1 >= groups) {
      int h = j * groups + groups - 1;
      for (int t = t0; t < T; t += 2 * tstep) {
        int t2 = t + tstep;
        if (t2 < T) attend2(QV(t, h), QV(t2, h), L + t + 1, L + t2 + 1, Kj, Vj, real, hD, sa, sb, OV(t, h), OV(t2, h));
        else attend1(QV(t, h), L + t + 1, Kj, Vj, real, hD, sa, OV(t, h));
      }
    }
  }
#undef QV
#undef OV
}

/* attention() for all heads and tokens on the caller's thread; scores: 3·cap floats per kv head of [j0, j1). */
EXPORT(srs_attention)
void srs_attention(const f32 *q, const f32 *K, const f32 *V, const uint8_t *real, int T, int L, int nH, int nKV, int hD, int cap, f32 *scores, f32 *out, int j0, int j1) {
  attention(q, K, V, real, T, L, nH, nKV, hD, cap, scores, 3 * cap, out, j0, j1, 0, 1, 0, nH / nKV);
}

/* Index of the largest of n values (the first on ties; NaN never wins). */
EXPORT(srs_argmax) int srs_argmax(const f32 *x, int n) {
  int best = 0;
  f32 m = x[0];
  for (int i = 1; i < n; i++)
    if (x[i] > m) {
      m = x[i];
      best = i;
    }
  return best;
}

/* y[i] += x[i] (residual). */
EXPORT(srs_add) void srs_add(f32 *y, const f32 *x, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_v128_load(x + i)));
  for (; i < n; i++) y[i] += x[i];
}

/*
 * Threads. Helper instances of this module (one per extra thread, in workers, over the same shared memory) sit
 * in srs_worker_loop; the caller's thread runs a job with srs_run and takes chunks of it too, so a helper that
 * the OS has not scheduled yet only costs the chunk it has already taken. A job is one of the functions above
 * over a range of output columns (matmuls), query heads (attention) or rows (a prefill's norms, RoPE and SiLU),
 * split into `chunks` equal ranges.
 *
 * Control block (int32 words, from the caller's memory): see CTRL_*. `ticket` (64 bits, words 6-7) packs the
 * job's generation (high 32 bits), its chunk count and the next chunk (16 bits each), all set by srs_run in one
 * store: a helper decides from that one word whether a chunk is left, so a helper that lags behind can neither
 * take a chunk of a newer job nor count an older job's chunk count against a newer job's ticket (the chunk
 * count word is rewritten by the caller for the next job before srs_run publishes it). Without threads (the module built without atomics, or no helpers) srs_run runs the
 * whole job on the caller's thread.
 */
enum { CTRL_GEN = 0, CTRL_DONE = 2, CTRL_CHUNKS = 3, CTRL_HELPERS = 4, CTRL_KIND = 5, CTRL_TICKET = 6, CTRL_ARGS = 8, CTRL_WORDS = 32 };
enum { JOB_MATMUL_F32 = 1, JOB_MATMUL_Q8 = 2, JOB_ATTENTION = 3, JOB_MATVEC_F32 = 4, JOB_MATMUL_F32P = 5, JOB_MATMULS_F32P = 6, JOB_ROWWISE = 7, JOB_EXIT = 99 };
enum { ROWWISE_RMSNORM = 0, ROWWISE_ROPE = 1, ROWWISE_SILU_MUL = 2 };

/* An f32 passed in a control word (its bits). */
static inline f32 word_f32(int32_t w) {
  union { int32_t i; f32 f; } u = {w};
  return u.f;
}

/* Range [*lo, *hi) of chunk `chunk` when n units are split into `chunks` equal ranges (empty when *lo >= *hi). */
static inline void chunk_range(int n, int chunks, int chunk, int *lo, int *hi) {
  int step = (n + chunks - 1) / chunks;
  *lo = chunk * step;
  *hi = *lo + step < n ? *lo + step : n;
}

static void run_chunk(const int32_t *c, int chunk) {
  const int32_t *a = c + CTRL_ARGS;
  int chunks = c[CTRL_CHUNKS];
  switch (c[CTRL_KIND]) {
    case JOB_MATMUL_F32:
    case JOB_MATMUL_F32P: {
      int out = a[6], step = (out / chunks + NR - 1) & ~(NR - 1), j0 = chunk * step, j1 = j0 + step < out ? j0 + step : out;
      if (chunk == chunks - 1) j1 = out;
      if (j0 >= j1) break;
      if (c[CTRL_KIND] == JOB_MATMUL_F32) srs_matmul_f32((const f32 *)a[0], a[1], (const f32 *)a[2], (const f32 *)a[3], (f32 *)a[4], a[5], out, j0, j1, a[7]);
      else srs_matmul_f32p((const f32 *)a[0], a[1], (const f32 *)a[2], (const f32 *)a[3], (f32 *)a[4], a[5], out, j0, j1, a[7]);
      break;
    }
    case JOB_MATMULS_F32P: {
      /* Up to three packed matmuls of one input x (q, k, v; gate, up) as one job: a[0] x, a[1] rows, a[2] in,
         a[3] accumulate, a[4] count, then per matrix m a[5 + 4m…8 + 4m] = P, bias, y, out. The chunks split the
         matrices' panels taken in turn, so that one pass over the helpers runs all of them. */
      int count = a[4], total = 0;
      for (int m = 0; m < count; m++) total += a[8 + 4 * m] / NR;
      int p0, p1;
      chunk_range(total, chunks, chunk, &p0, &p1);
      for (int m = 0, base = 0; m < count; m++) {
        const int32_t *mm = a + 5 + 4 * m;
        int n = mm[3] / NR, lo = p0 > base ? p0 : base, hi = p1 < base + n ? p1 : base + n;
        if (lo < hi) srs_matmul_f32p((const f32 *)a[0], a[1], (const f32 *)mm[0], (const f32 *)mm[1], (f32 *)mm[2], a[2], mm[3], (lo - base) * NR, (hi - base) * NR, a[3]);
        base += n;
      }
      break;
    }
    case JOB_MATMUL_Q8: {
      int out = a[7], j0, j1;
      chunk_range(out, chunks, chunk, &j0, &j1);
      if (j0 < j1) srs_matmul_q8((const int8_t *)a[0], (const f32 *)a[1], a[2], (const int8_t *)a[3], (const f32 *)a[4], (const f32 *)a[5], (f32 *)a[6], a[8], out, j0, j1, a[9]);
      break;
    }
    case JOB_MATVEC_F32: {
      /* chunk = column block · KSPLIT + part; column blocks of a multiple of 16 columns */
      int out = a[5], blocks = chunks / KSPLIT, part = chunk % KSPLIT, block = chunk / KSPLIT;
      int step = (out / blocks + 15) & ~15, j0 = block * step, j1 = block == blocks - 1 ? out : j0 + step;
      if (j1 > out) j1 = out;
      if (j0 < j1) matvec_part((const f32 *)a[0], a[1], (const f32 *)a[2], (f32 *)a[3], a[4], out, part, j0, j1);
      break;
    }
    case JOB_ROWWISE: {
      /* A prefill's norms, RoPE and SiLU over ranges of rows (a[1] rows; SiLU: of a[3] elements each): a[0] is
         the op, then its arguments. Every row (every element) is computed as on one thread, so the same bits. */
      int r0, r1;
      chunk_range(a[1], chunks, chunk, &r0, &r1);
      if (r0 >= r1) break;
      if (a[0] == ROWWISE_RMSNORM) srs_rmsnorm((const f32 *)a[2] + (long)r0 * a[3], r1 - r0, a[3], (const f32 *)a[4], word_f32(a[5]), (f32 *)a[6] + (long)r0 * a[3]);
      else if (a[0] == ROWWISE_ROPE) srs_rope((f32 *)a[2] + (long)r0 * a[3] * a[4], r1 - r0, a[3], a[4], (const f32 *)a[5] + (long)r0 * a[4], (const f32 *)a[6] + (long)r0 * a[4], word_f32(a[7]));
      else srs_silu_mul((f32 *)a[2] + (long)r0 * a[3], (const f32 *)a[4] + (long)r0 * a[3], (r1 - r0) * a[3]);
      break;
    }
    case JOB_ATTENTION: {
      /* chunk = (kv head · heads + head part) · parts + part: tokens part, part + parts, … (a[13] parts; the
         causal cost grows with the token, so interleaved tokens share it evenly) of query heads 2·hp, 2·hp + 1 of
         one kv head (a[14] head parts: 1 for all of them, or one per pair for a decode step); scores scratch per
         chunk: a[10] + chunk · a[11] floats */
      int parts = a[13], heads = a[14], j = chunk / (parts * heads), hp = chunk / parts % heads;
      int g0 = heads == 1 ? 0 : 2 * hp, g1 = heads == 1 ? a[6] / a[7] : 2 * hp + 2;
      attention((const f32 *)a[0], (const f32 *)a[1], (const f32 *)a[2], (const uint8_t *)a[3], a[4], a[5], a[6], a[7], a[8], a[9], (f32 *)a[10] + (long)chunk * a[11], a[11], (f32 *)a[12], j, j + 1, chunk % parts, parts, g0, g1);
      break;
    }
  }
}

#ifdef __wasm_atomics__
static int take_chunks(int32_t *c, uint32_t gen) {
  uint64_t *ticket = (uint64_t *)(c + CTRL_TICKET);
  int took = 0;
  for (;;) {
    uint64_t t = __atomic_load_n(ticket, __ATOMIC_ACQUIRE);
    int next = (int)(t & 0xffff), chunks = (int)(t >> 16 & 0xffff);
    if ((uint32_t)(t >> 32) != gen || next >= chunks) return took;
    if (!__atomic_compare_exchange_n(ticket, &t, t + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
    run_chunk(c, next);
    __atomic_fetch_add(&c[CTRL_DONE], 1, __ATOMIC_RELEASE);
    took++;
  }
}

/* A helper's life: wait for a new generation, take chunks, repeat; returns on JOB_EXIT. */
EXPORT(srs_worker_loop) void srs_worker_loop(int32_t *c) {
  uint32_t seen = (uint32_t)__atomic_load_n(&c[CTRL_GEN], __ATOMIC_ACQUIRE);
  for (;;) {
    uint32_t gen;
    int spins = 0;
    /* Spin a little first (jobs of one pass follow each other within microseconds), then sleep. */
    while ((gen = (uint32_t)__atomic_load_n(&c[CTRL_GEN], __ATOMIC_ACQUIRE)) == seen) {
      if (++spins > 20000) __builtin_wasm_memory_atomic_wait32(&c[CTRL_GEN], (int32_t)seen, -1);
    }
    seen = gen;
    if (c[CTRL_KIND] == JOB_EXIT) return;
    take_chunks(c, gen);
  }
}
#endif

/* Runs the job described in the control block (kind, args, chunks set by the caller) to completion. */
EXPORT(srs_run) void srs_run(int32_t *c) {
  int chunks = c[CTRL_CHUNKS];
#ifdef __wasm_atomics__
  if (c[CTRL_HELPERS] > 0 && chunks > 1) {
    uint32_t gen = (uint32_t)c[CTRL_GEN] + 1;
    __atomic_store_n(&c[CTRL_DONE], 0, __ATOMIC_RELAXED);
    __atomic_store_n((uint64_t *)(c + CTRL_TICKET), (uint64_t)gen << 32 | (uint64_t)(chunks & 0xffff) << 16, __ATOMIC_RELEASE);
    __atomic_store_n(&c[CTRL_GEN], (int32_t)gen, __ATOMIC_RELEASE);
    __builtin_wasm_memory_atomic_notify(&c[CTRL_GEN], (unsigned)c[CTRL_HELPERS]);
    take_chunks(c, gen);
    while (__atomic_load_n(&c[CTRL_DONE], __ATOMIC_ACQUIRE) < chunks) {
    }
    return;
  }
#endif
  for (int i = 0; i < chunks; i++) run_chunk(c, i);
}

/* Asks every helper to return from srs_worker_loop. */
EXPORT(srs_stop_helpers) void srs_stop_helpers(int32_t *c) {
  c[CTRL_KIND] = JOB_EXIT;
#ifdef __wasm_atomics__
  __atomic_store_n(&c[CTRL_GEN], (int32_t)((uint32_t)c[CTRL_GEN] + 1), __ATOMIC_RELEASE);
  __builtin_wasm_memory_atomic_notify(&c[CTRL_GEN], (unsigned)c[CTRL_HELPERS]);
#endif
}
