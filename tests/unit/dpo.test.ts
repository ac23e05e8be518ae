import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { dpoLoss, dpoMetrics, dpoRpoLoss } from '../../src/core/train/dpo.ts';
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

describe('dpoRpoLoss (DPO + RPO NLL term)', () => {
  // Per-token log-probabilities of P pairs, drawn by hand; a sequence's log π is their sum. The reference is
  // written out in float64: mean over pairs of −log σ(β·h) + α · (−Σ chosen token log p / chosen tokens),
  // the chosen answers' mean per-token NLL over the whole batch (TRL's rpo_alpha · nll_loss), not a mean of
  // per-sequence means.
  const P = 3;
  const lengths = { chosen: [2, 5, 3], rejected: [4, 1, 6] };
  const tokens = (n: number, seed: number) => Array.from(testFloats(n, seed, 1), (x) => -1.5 + x); // log p in [−2.5, −0.5]
  const chosenTok = lengths.chosen.map((n, i) => tokens(n, 10 + i));
  const rejectedTok = lengths.rejected.map((n, i) => tokens(n, 20 + i));
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const policy = [...chosenTok.map(sum), ...rejectedTok.map(sum)]; // [2P]
  const reference = [...tokens(P, 31), ...tokens(P, 32)].map((x, i) => policy[i] + 0.7 * x); // [2P], another model
  const chosenTokens = sum(lengths.chosen); // 10

  function byHand(beta: number, alpha: number) {
    let loss = 0;
    const grad = new Array<number>(2 * P).fill(0);
    for (let i = 0; i < P; i++) {
      const h = policy[i] - policy[P + i] - (reference[i] - reference[P + i]);
      loss -= logSigmoid(beta * h) / P;
      grad[i] -= (beta * sigmoid(-beta * h)) / P;
      grad[P + i] += (beta * sigmoid(-beta * h)) / P;
    }
    const allChosen = chosenTok.flat();
    const meanNll = -sum(allChosen) / allChosen.length;
    loss += alpha * meanNll;
    for (let i = 0; i < P; i++) grad[i] -= alpha / allChosen.length;
    return { loss, grad };
  }

  it('equals the hand-computed loss and gradient for several β and α', () => {
    for (const [beta, alpha] of [[0.1, 0], [0.1, 1], [0.5, 0.3], [2, 2]]) {
      const want = byHand(beta, alpha);
      const { value, grad } = tf.tidy(() => {
        const ref = tf.tensor1d(reference);
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => dpoRpoLoss(x as tf.Tensor1D, ref, P, beta, alpha, chosenTokens))([tf.tensor1d(policy)]);
        return { value: value.dataSync()[0], grad: Array.from(grads[0].dataSync()) };
      });
      expect(Math.abs(value - want.loss), `β ${beta}, α ${alpha}`).toBeLessThan(1e-5);
      grad.forEach((g, i) => expect(Math.abs(g - want.grad[i]), `β ${beta}, α ${alpha}, entry ${i}`).toBeLessThan(1e-6));
    }
  });

  it('adds α times the mean NLL to plain DPO: the term grows with α and is not divided by the pairs', () => {
    const plain = tf.tidy(() => dpoLoss(tf.tensor1d(policy.slice(0, P)), tf.tensor1d(policy.slice(P)), tf.tensor1d(reference.slice(0, P)), tf.tensor1d(reference.slice(P)), 0.1).loss.dataSync()[0]);
    const at = (alpha: number) => tf.tidy(() => dpoRpoLoss(tf.tensor1d(policy), tf.tensor1d(reference), P, 0.1, alpha, chosenTokens).dataSync()[0]);
    expect(at(0)).toBeCloseTo(plain, 6);
    const meanNll = -sum(chosenTok.flat()) / chosenTokens;
    expect(meanNll).toBeGreaterThan(0.5);
    expect(at(1) - at(0)).toBeCloseTo(meanNll, 5);
    expect(at(3) - at(0)).toBeCloseTo(3 * meanNll, 4);
    // Not the mean of per-answer means (the answers have different lengths, so the two differ here).
    const perAnswer = sum(chosenTok.map((t) => -sum(t) / t.length)) / P;
    expect(Math.abs(perAnswer - meanNll)).toBeGreaterThan(1e-3);
  });
});
