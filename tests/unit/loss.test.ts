import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  causalLmLoss,
  causalLmLossFromHidden,
  causalLmLossParts,
  sequenceLogProbs,
  sequenceLogProbsFromHidden,
} from '../../src/core/train/loss.ts';
import { FIXTURE_MODELS, fixturesDir } from '../fixtures/paths.ts';
import { maxRelError, testFloats } from './train-helpers.ts';

/** Hugging Face's loss in float64: shift, skip -100, mean over every counted position; and d loss / d logits. */
function referenceLoss(logits: Float32Array, labels: number[][], B: number, T: number, V: number) {
  let sum = 0;
  let count = 0;
  const grad = new Float64Array(B * T * V);
  const perSeq = new Float64Array(B);
  const rows: Array<[number, number, number]> = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t + 1 < T; t++) {
      const y = labels[b][t + 1];
      if (y === -100) continue;
      const off = (b * T + t) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(logits[off + v] - max);
      const lse = max + Math.log(z);
      sum += lse - logits[off + y];
      perSeq[b] += logits[off + y] - lse;
      count++;
      rows.push([off, y, lse]);
    }
  for (const [off, y, lse] of rows) {
    for (let v = 0; v < V; v++) grad[off + v] = Math.exp(logits[off + v] - lse) / count;
    grad[off + y] -= 1 / count;
  }
  return { loss: sum / count, grad, perSeq };
}

function randomLabels(B: number, T: number, V: number, seed: number): number[][] {
  const r = testFloats(B * T, seed);
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => (t < 2 || r[b * T + t] > 0.6 ? -100 : Math.floor(((r[b * T + t] + 1) / 2) * V))),
  );
}

describe('causalLmLoss', () => {
  for (const name of FIXTURE_MODELS) {
    it(`reproduces ${name}'s reference loss from its reference logits`, () => {
      const ref = JSON.parse(readFileSync(join(fixturesDir(), name, 'reference.json'), 'utf8')) as {
        logits_adapted: number[][][];
        labels: number[][];
        loss_adapted: number;
      };
      const loss = tf.tidy(() => causalLmLoss(tf.tensor3d(ref.logits_adapted), tf.tensor2d(ref.labels, undefined, 'int32')).dataSync()[0]);
      expect(Math.abs(loss - ref.loss_adapted)).toBeLessThan(1e-4);
    });
  }

  it('matches a float64 reference in value and gradient on random inputs (HF semantics: mean over the batch)', () => {
    const [B, T, V] = [3, 7, 11];
    const logits = testFloats(B * T * V, 5, 4);
    const labels = randomLabels(B, T, V, 9);
    const ref = referenceLoss(logits, labels, B, T, V);
    const before = tf.memory().numTensors;
    const [loss, grad] = tf.tidy(() => {
      const x = tf.tensor3d(logits, [B, T, V]);
      const y = tf.tensor2d(labels, [B, T], 'int32');
      const { value, grads } = tf.valueAndGrads((z: tf.Tensor) => causalLmLoss(z as tf.Tensor3D, y))([x]);
      return [value.dataSync()[0], grads[0].dataSync()];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5);
    expect(maxRelError(grad, ref.grad)).toBeLessThan(1e-5);
    // the rows' own means would give a different number: this really is the batch mean
    const rowMeans = labels.map((_, b) => referenceLoss(logits.slice(b * T * V, (b + 1) * T * V), [labels[b]], 1, T, V).loss);
    expect(Math.abs(rowMeans.reduce((a, c) => a + c, 0) / B - ref.loss)).toBeGreaterThan(1e-3);
  });

  it('gives the same gradient as plain autodiff through logSoftmax', () => {
    const [B, T, V] = [2, 5, 9];
    const logits = testFloats(B * T * V, 21, 3);
    const labels = randomLabels(B, T, V, 3);
    tf.tidy(() => {
      const x = tf.tensor3d(logits, [B, T, V]);
      const y = tf.tensor2d(labels, [B, T], 'int32');
      const naive = (z: tf.Tensor) => {
        const lp = tf.logSoftmax(tf.reshape(tf.slice(z, [0, 0, 0], [B, T - 1, V]), [B * (T - 1), V]));
        const tgt = tf.reshape(tf.slice(y, [0, 1], [B, T - 1]), [B * (T - 1)]);
        const mask = tf.cast(tf.notEqual(tgt, -100), 'float32');
        const oh = tf.oneHot(tf.where(tf.notEqual(tgt, -100), tgt, tf.zerosLike(tgt)), V);
        return tf.div(tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(lp, oh), 1), mask))), tf.sum(mask)) as tf.Scalar;
      };
      const g1 = tf.grad((z: tf.Tensor) => causalLmLoss(z as tf.Tensor3D, y))(x).dataSync();
      const g2 = tf.grad(naive)(x).dataSync();
      expect(maxRelError(g1, g2)).toBeLessThan(1e-5);
    });
  });

  it('returns the sum and count parts, and NaN when nothing is counted (as PyTorch)', () => {
    const [B, T, V] = [2, 4, 5];
    const logits = testFloats(B * T * V, 2);
    const labels = [[-100, 1, 2, -100], [-100, -100, 3, 4]];
    const ref = referenceLoss(logits, labels, B, T, V);
    tf.tidy(() => {
      const { sum, count } = causalLmLossParts(tf.tensor3d(logits, [B, T, V]), tf.tensor2d(labels, [B, T], 'int32'));
      expect(count.dataSync()[0]).toBe(4);
      expect(Math.abs(sum.dataSync()[0] / 4 - ref.loss)).toBeLessThan(1e-5);
      const none = causalLmLoss(tf.tensor3d(logits, [B, T, V]), tf.fill([B, T], -100, 'int32') as tf.Tensor2D);
      expect(Number.isNaN(none.dataSync()[0])).toBe(true);
    });
  });

  it('sums log-probabilities per sequence over labelled tokens (sequenceLogProbs)', () => {
    const [B, T, V] = [3, 6, 7];
    const logits = testFloats(B * T * V, 8, 2);
    const labels = randomLabels(B, T, V, 4);
    const ref = referenceLoss(logits, labels, B, T, V);
    const got = tf.tidy(() => sequenceLogProbs(tf.tensor3d(logits, [B, T, V]), tf.tensor2d(labels, [B, T], 'int32')).dataSync());
    for (let b = 0; b < B; b++) expect(Math.abs(got[b] - ref.perSeq[b])).toBeLessThan(1e-5);
  });
});

describe('chunked loss from hidden states and a frozen LM head', () => {
  it('equals the loss on full logits, in value and in gradient w.r.t. the hidden states, for any chunk size', () => {
    const [B, T, H, V] = [2, 7, 5, 13];
    const hidden = testFloats(B * T * H, 31, 2);
    const head = testFloats(H * V, 32, 1);
    const labels = randomLabels(B, T, V, 6);
    tf.tidy(() => {
      const h = tf.tensor3d(hidden, [B, T, H]);
      const w = tf.tensor2d(head, [H, V]);
      const y = tf.tensor2d(labels, [B, T], 'int32');
      const full = tf.valueAndGrad((x: tf.Tensor) => causalLmLoss(tf.reshape(tf.matMul(tf.reshape(x, [B * T, H]), w), [B, T, V]) as tf.Tensor3D, y));
      const { value: v0, grad: g0 } = full(h);
      const seq0 = sequenceLogProbs(tf.reshape(tf.matMul(tf.reshape(h, [B * T, H]), w), [B, T, V]) as tf.Tensor3D, y).dataSync();
      for (const chunk of [1, 4, 12, 100]) {
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => causalLmLossFromHidden(x as tf.Tensor3D, w, y, chunk))(h);
        expect(Math.abs(value.dataSync()[0] - v0.dataSync()[0]), `chunk ${chunk}`).toBeLessThan(1e-5);
        expect(maxRelError(grad.dataSync(), g0.dataSync()), `chunk ${chunk}`).toBeLessThan(1e-5);
        const seq = sequenceLogProbsFromHidden(h, w, y, chunk).dataSync();
        for (let b = 0; b < B; b++) expect(Math.abs(seq[b] - seq0[b])).toBeLessThan(1e-4);
      }
    });
    expect(() => causalLmLossFromHidden(tf.zeros([1, 2, 3]) as tf.Tensor3D, tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([1, 2], 'int32') as tf.Tensor2D, 0)).toThrow(/chunkRows/);
  });

  it('leaks nothing, forward or backward', () => {
    const before = tf.memory().numTensors;
    const h = tf.tensor3d(testFloats(2 * 5 * 3, 1), [2, 5, 3]);
    const w = tf.tensor2d(testFloats(3 * 7, 2), [3, 7]);
    const y = tf.tensor2d(randomLabels(2, 5, 7, 1), [2, 5], 'int32');
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => causalLmLossFromHidden(x as tf.Tensor3D, w, y, 3))(h);
    tf.dispose([value, grad, h, w, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
