/**
 * The chunked LM-head loss as the tfjs trainer uses it (src/core/train/loss.ts, HeadLossOptions): the eager
 * gradient (computed with the loss), the lazy one (recomputed in the backward pass), with and without a
 * transposed head, equal the plain full-logits loss in value and gradient, also for logits far apart
 * (log-sum-exp from the softmax's maximum), on cpu and on wasm; and no tensor is left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { causalLmLoss, causalLmLossFromHidden, sequenceLogProbsFromHidden, type HeadLossOptions } from '../../src/core/train/loss.ts';
import { withoutGradient } from '../../src/core/train/objectives.ts';
import { maxRelError, testFloats } from './train-helpers.ts';

const [B, T, H, V] = [2, 9, 8, 37];

function setup(scale: number) {
  const init = tf.tensor3d(testFloats(B * T * H, 1, scale), [B, T, H]);
  const hidden = tf.variable(init); // [B, T, H]
  init.dispose();
  const head = tf.tensor2d(testFloats(H * V, 2, scale), [H, V]); // [H, V]
  const labels = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? -100 : (i * 5) % V)), [B, T], 'int32');
  return { hidden, head, labels };
}

function lossAndGrad(f: () => tf.Scalar, v: tf.Variable): { loss: number; grad: Float32Array } {
  const { value, grads } = tf.variableGrads(f, [v]);
  const out = { loss: value.dataSync()[0], grad: Float32Array.from(grads[v.name].dataSync()) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('chunked head loss (eager / lazy gradient, transposed head)', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const scale of [1, 40]) {
      it(`${backend}, logits ×${scale}: every way equals the full-logits loss in value and gradient`, async () => {
        await useNodeBackend(backend);
        const before = tf.memory().numTensors;
        const { hidden, head, labels } = setup(scale);
        const headT = tf.transpose(head);
        const blocks = tf.split(headT, [16, 16, 5], 0) as tf.Tensor2D[];
        const ref = lossAndGrad(() => causalLmLoss(tf.reshape(tf.matMul(tf.reshape(hidden, [B * T, H]), head), [B, T, V]) as tf.Tensor3D, labels), hidden);
        expect(Number.isFinite(ref.loss)).toBe(true);
        const ways: Array<[string, HeadLossOptions]> = [
          ['eager', { chunkRows: 5 }],
          ['eager + headT', { chunkRows: 4, headT }],
          ['lazy', { chunkRows: 3, grad: 'lazy' }],
          ['lazy + headT, one chunk', { chunkRows: 64, grad: 'lazy', headT }],
          ['eager + headT in row blocks', { chunkRows: 6, headT: blocks }],
          ['lazy + headT in row blocks', { chunkRows: 6, grad: 'lazy', headT: blocks }],
        ];
        for (const [name, o] of ways) {
          const got = lossAndGrad(() => causalLmLossFromHidden(hidden, head, labels, o), hidden);
          expect(Math.abs(got.loss - ref.loss) / Math.max(1, Math.abs(ref.loss)), name).toBeLessThan(1e-5);
          expect(maxRelError(got.grad, ref.grad), name).toBeLessThan(1e-4);
        }
        // Values only (no tape): nothing kept, and the same numbers.
        const lp = withoutGradient(hidden, () => sequenceLogProbsFromHidden(hidden, head, labels, { grad: 'lazy', chunkRows: 4 }));
        const lpEager = sequenceLogProbsFromHidden(hidden, head, labels, { chunkRows: 7 });
        expect(maxRelError(lp.dataSync(), lpEager.dataSync())).toBeLessThan(1e-5);
        tf.dispose([lp, lpEager, hidden, head, labels, headT, ...blocks]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});
