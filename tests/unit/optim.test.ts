import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../../src/core/train/adamw.ts';
import { clipByGlobalNorm } from '../../src/core/train/grad-clip.ts';
import type { Optimizer } from '../../src/core/train/optimizer.ts';
import { Sgd } from '../../src/core/train/sgd.ts';
import { maxRelError, testFloats } from './train-helpers.ts';

const SHAPES: Record<string, number[]> = { w: [3, 4], b: [5] };
const size = (s: number[]) => s.reduce((a, c) => a * c, 1);
/** Gradients for step s; parameter b gets none on step 1 (0-based), like a torch param whose grad is None. */
const gradAt = (name: string, s: number): Float32Array | null => (name === 'b' && s === 1 ? null : testFloats(size(SHAPES[name]), 100 + s * 7 + name.length, 2));
const lrAt = (s: number) => 1e-2 * (1 + s / 3);

/** torch.optim.AdamW, element by element in float64. */
function adamwReference(steps: number, o: { beta1: number; beta2: number; eps: number; wd: number }) {
  const state: Record<string, { p: Float64Array; m: Float64Array; v: Float64Array; t: number }> = {};
  for (const n of Object.keys(SHAPES)) {
    const k = size(SHAPES[n]);
    state[n] = { p: Float64Array.from(testFloats(k, n.length)), m: new Float64Array(k), v: new Float64Array(k), t: 0 };
  }
  for (let s = 0; s < steps; s++) {
    const lr = lrAt(s);
    for (const n of Object.keys(SHAPES)) {
      const g = gradAt(n, s);
      if (!g) continue;
      const st = state[n];
      st.t += 1;
      const bc1 = 1 - o.beta1 ** st.t;
      const bc2 = 1 - o.beta2 ** st.t;
      for (let i = 0; i < st.p.length; i++) {
        st.p[i] *= 1 - lr * o.wd;
        st.m[i] = o.beta1 * st.m[i] + (1 - o.beta1) * g[i];
        st.v[i] = o.beta2 * st.v[i] + (1 - o.beta2) * g[i] * g[i];
        const denom = Math.sqrt(st.v[i]) / Math.sqrt(bc2) + o.eps;
        st.p[i] -= (lr / bc1) * (st.m[i] / denom);
      }
    }
  }
  return state;
}

/** torch.optim.SGD (dampening 0), element by element in float64. */
function sgdReference(steps: number, o: { momentum: number; wd: number; nesterov: boolean }) {
  const state: Record<string, { p: Float64Array; buf: Float64Array | null }> = {};
  for (const n of Object.keys(SHAPES)) state[n] = { p: Float64Array.from(testFloats(size(SHAPES[n]), n.length)), buf: null };
  for (let s = 0; s < steps; s++) {
    for (const n of Object.keys(SHAPES)) {
      const g0 = gradAt(n, s);
      if (!g0) continue;
      const st = state[n];
      const g = Float64Array.from(g0, (x, i) => x + o.wd * st.p[i]);
      if (o.momentum) {
        if (!st.buf) st.buf = Float64Array.from(g);
        else for (let i = 0; i < g.length; i++) st.buf[i] = o.momentum * st.buf[i] + g[i];
        for (let i = 0; i < g.length; i++) g[i] = o.nesterov ? g[i] + o.momentum * st.buf[i] : st.buf[i];
      }
      for (let i = 0; i < g.length; i++) st.p[i] -= lrAt(s) * g[i];
    }
  }
  return state;
}

function makeParams(): Map<string, tf.Variable> {
  return new Map(
    Object.keys(SHAPES).map((n) => {
      const init = tf.tensor(testFloats(size(SHAPES[n]), n.length), SHAPES[n]);
      const v = tf.variable(init);
      init.dispose();
      return [n, v];
    }),
  );
}

function run(opt: Optimizer, params: Map<string, tf.Variable>, from: number, to: number) {
  for (let s = from; s < to; s++) {
    const grads = new Map<string, tf.Tensor>();
    for (const n of params.keys()) {
      const g = gradAt(n, s);
      if (g) grads.set(n, tf.tensor(g, SHAPES[n]));
    }
    opt.apply(params, grads, lrAt(s));
    tf.dispose([...grads.values()]);
  }
}

const read = (params: Map<string, tf.Variable>) => Object.fromEntries([...params].map(([n, v]) => [n, Float32Array.from(v.dataSync())]));
const disposeAll = (params: Map<string, tf.Variable>) => params.forEach((v) => v.dispose());

describe('AdamW', () => {
  it('follows torch.optim.AdamW over several steps (decoupled weight decay, bias correction, skipped grads)', () => {
    const o = { beta1: 0.9, beta2: 0.95, eps: 1e-6, wd: 0.1 };
    const before = tf.memory().numTensors;
    const params = makeParams();
    const opt = new AdamW({ beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.wd });
    run(opt, params, 0, 6);
    const ref = adamwReference(6, o);
    const got = read(params);
    for (const n of Object.keys(SHAPES)) expect(maxRelError(got[n], ref[n].p), n).toBeLessThan(2e-6);
    // b missed one step: its own step count is 5
    return opt.exportState().then((st) => {
      expect(st.steps).toEqual({ w: 6, b: 5 });
      opt.dispose();
      disposeAll(params);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('exports and restores its state so that a resumed run is bit-identical', async () => {
    const pA = makeParams();
    const a = new AdamW({ weightDecay: 0.01 });
    run(a, pA, 0, 5);
    const pB = makeParams();
    const b = new AdamW({ weightDecay: 0.01 });
    run(b, pB, 0, 2);
    const state = await b.exportState();
    expect([...state.slots.keys()].sort()).toEqual(['b.exp_avg', 'b.exp_avg_sq', 'w.exp_avg', 'w.exp_avg_sq']);
    const snapshot = read(pB);
    b.dispose();
    disposeAll(pB);
    const pC = makeParams();
    for (const [n, v] of pC) v.assign(tf.tensor(snapshot[n], SHAPES[n]));
    const c = new AdamW({ weightDecay: 0.01 });
    c.importState(state);
    run(c, pC, 2, 5);
    const ga = read(pA);
    const gc = read(pC);
    for (const n of Object.keys(SHAPES)) expect(Array.from(gc[n])).toEqual(Array.from(ga[n]));
    expect(() => new AdamW({ weightDecay: 0.02 }).importState(state)).toThrow(/weightDecay = 0.01, not 0.02/);
    expect(() => new Sgd().importState(state)).toThrow(/holds adamw optimizer state; it cannot continue with sgd/);
    for (const o of [a, c]) o.dispose();
    disposeAll(pA);
    disposeAll(pC);
  });

  it('rejects bad hyper-parameters', () => {
    expect(() => new AdamW({ beta1: 1 })).toThrow(/beta1 must be in \[0, 1\)/);
    expect(() => new AdamW({ eps: 0 })).toThrow(/epsilon must be positive/);
    expect(() => new AdamW({ weightDecay: -1 })).toThrow(/Weight decay/);
  });
});

describe('SGD', () => {
  for (const o of [
    { momentum: 0, wd: 0, nesterov: false },
    { momentum: 0.9, wd: 0.01, nesterov: false },
    { momentum: 0.8, wd: 0, nesterov: true },
  ]) {
    it(`follows torch.optim.SGD (momentum ${o.momentum}, weight decay ${o.wd}, nesterov ${o.nesterov})`, async () => {
      const params = makeParams();
      const opt = new Sgd({ momentum: o.momentum, weightDecay: o.wd, nesterov: o.nesterov });
      run(opt, params, 0, 3);
      // restore into a fresh optimizer half-way and go on: same as the reference
      const state = await opt.exportState();
      opt.dispose();
      const opt2 = new Sgd({ momentum: o.momentum, weightDecay: o.wd, nesterov: o.nesterov });
      opt2.importState(state);
      run(opt2, params, 3, 5);
      const ref = sgdReference(5, o);
      const got = read(params);
      for (const n of Object.keys(SHAPES)) expect(maxRelError(got[n], ref[n].p), n).toBeLessThan(2e-6);
      opt2.dispose();
      disposeAll(params);
    });
  }
});

describe('clipByGlobalNorm', () => {
  it('scales every gradient by min(1, max / (norm + 1e-6)) over all tensors together', async () => {
    const a = testFloats(12, 1, 3);
    const b = testFloats(5, 2, 3);
    const norm = Math.sqrt([...a, ...b].reduce((s, x) => s + x * x, 0));
    const grads = new Map([['a', tf.tensor(a)], ['b', tf.tensor(b)]]);
    for (const max of [norm / 4, norm * 2, 0]) {
      const out = clipByGlobalNorm(grads, max);
      expect(Math.abs(out.norm.dataSync()[0] - norm) / norm).toBeLessThan(1e-6);
      const coef = max > 0 ? Math.min(1, max / (norm + 1e-6)) : 1;
      expect(maxRelError(out.grads.get('a')!.dataSync(), a.map((x) => x * coef))).toBeLessThan(1e-6);
      expect(maxRelError(out.grads.get('b')!.dataSync(), b.map((x) => x * coef))).toBeLessThan(1e-6);
      tf.dispose([out.norm, ...out.grads.values()]);
    }
    tf.dispose([...grads.values()]);
  });
});
