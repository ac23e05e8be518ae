import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { dpoLoss, dpoMetrics } from '../../src/core/train/dpo.ts';
import { testFloats } from './train-helpers.ts';

const logSigmoid = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('dpoLoss', () => {
  it('matches a float64 reference in value, rewards and gradients', async () => {
    const P = 5;
    const [pc, pr, rc, rr] = [1, 2, 3, 4].map((s) => Array.from(testFloats(P, s, 20)));
    for (const beta of [0.1, 0.5]) {
      let loss = 0;
      const dpc: number[] = [];
      for (let i = 0; i < P; i++) {
        const h = pc[i] - pr[i] - (rc[i] - rr[i]);
        loss -= logSigmoid(beta * h) / P;
        dpc.push((-beta * sigmoid(-beta * h)) / P);
      }
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const [a, b, c, d] = [pc, pr, rc, rr].map((x) => tf.tensor1d(x));
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) =>
          dpoLoss(x as tf.Tensor1D, y as tf.Tensor1D, c, d, beta).loss,
        )([a, b]);
        const full = dpoLoss(a, b, c, d, beta);
        return { value, g0: grads[0], g1: grads[1], ...full };
      });
      expect(Math.abs(out.value.dataSync()[0] - loss)).toBeLessThan(1e-5);
      const g0 = out.g0.dataSync();
      const g1 = out.g1.dataSync();
      for (let i = 0; i < P; i++) {
        expect(Math.abs(g0[i] - dpc[i])).toBeLessThan(1e-6);
        expect(Math.abs(g1[i] + dpc[i])).toBeLessThan(1e-6); // d/d rejected = −d/d chosen
      }
      const m = await dpoMetrics(out);
      const cR = pc.map((x, i) => beta * (x - rc[i]));
      const rR = pr.map((x, i) => beta * (x - rr[i]));
      expect(m.loss).toBeCloseTo(loss, 5);
      expect(m.accuracy).toBeCloseTo(cR.filter((x, i) => x > rR[i]).length / P, 6);
      expect(m.margin).toBeCloseTo(cR.reduce((s, x, i) => s + x - rR[i], 0) / P, 4);
      expect(m.chosenReward).toBeCloseTo(cR.reduce((s, x) => s + x, 0) / P, 4);
      tf.dispose([out.value, out.g0, out.g1, out.loss, out.chosenRewards, out.rejectedRewards]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('is log 2 when policy equals reference, and stable for huge margins', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([-30, -40]);
      expect(dpoLoss(x, x, x, x).loss.dataSync()[0]).toBeCloseTo(Math.LN2, 6);
      const big = dpoLoss(tf.tensor1d([0]), tf.tensor1d([-1e5]), tf.tensor1d([0]), tf.tensor1d([0]), 0.1).loss.dataSync()[0];
      expect(big).toBeGreaterThanOrEqual(0);
      expect(big).toBeLessThan(1e-6);
      const worst = dpoLoss(tf.tensor1d([-1e5]), tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([0]), 0.1).loss.dataSync()[0];
      expect(worst).toBeCloseTo(1e4, 0);
    });
    expect(() => dpoLoss(tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([0]), 0)).toThrow(/beta must be positive/);
  });
});
