/**
 * Randomly initialised weights for a config, built in memory (nothing written to disk): linear weights and
 * embeddings ~ N(0, std²) as Hugging Face's `initializer_range` (0.02) does, norms = 1, biases = 0. For
 * benchmarks and for training a small model from scratch. Reproducible from the seed.
 */
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../text/random.ts';
import type { ModelConfig } from './types.ts';
import { emptyWeights, hfTensorSpecs, type ModelWeights } from './weights.ts';

export function randomWeights(config: ModelConfig, seed: number, std = 0.02): ModelWeights {
  const random = seededRandom(seed);
  const weights = emptyWeights(config);
  for (const s of hfTensorSpecs(config)) {
    const shape = s.transposed ? [s.hfShape[1], s.hfShape[0]] : s.hfShape;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (s.name.endsWith('norm.weight')) data.fill(1);
    else if (!s.name.endsWith('.bias')) {
      // Box–Muller, two normals per pair of uniforms.
      for (let i = 0; i < n; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - random())) * std;
        const a = 2 * Math.PI * random();
        data[i] = r * Math.cos(a);
        if (i + 1 < n) data[i + 1] = r * Math.sin(a);
      }
    }
    s.set(weights, tf.tensor(data, shape, 'float32'));
  }
  return weights;
}
