/**
 * A build without our kernels (kernels/dist not built: no clang or lld) still runs: the engine generates on
 * tfjs-wasm's own ops and says why. Its own file, so the process has no kernels attached.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { KERNELS_NOT_BUILT } from '../../src/core/kernels/module.ts';
import { bundledKernelFiles } from '../../src/core/kernels/pool.ts';
import { openDecoder } from '../../src/core/model/decoder.ts';
import { randomWeights } from '../../src/core/model/init.ts';
import { disposeWeights } from '../../src/core/model/weights.ts';
import { selectBackend } from '../../src/core/backend/select.ts';
import { nodeWasmDir } from '../../src/core/backend/node-wasm.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import { LLAMA3_TINY } from '../fixtures/tiny-models.ts';

const TINY_CONFIG = parseModelConfig(LLAMA3_TINY);

describe('the kernels of a bundle', () => {
  it('are found in the bundler\'s list of kernels/dist files, or said to be missing', () => {
    const files = bundledKernelFiles({ '../kernels/dist/decode.wasm': '/assets/decode-1.wasm', '../kernels/dist/decode-shared.wasm': '/assets/decode-shared-2.wasm' });
    expect(typeof files === 'object' && [files.plain, files.shared]).toEqual(['/assets/decode-1.wasm', '/assets/decode-shared-2.wasm']);
    expect(bundledKernelFiles({})).toBe(KERNELS_NOT_BUILT);
    expect(bundledKernelFiles({ '../kernels/dist/decode.wasm': '/assets/decode-1.wasm' })).toBe(KERNELS_NOT_BUILT);
  });
});

describe('tfjs-wasm without the kernels', () => {
  it('says why and generates on tfjs ops', async () => {
    const active = await selectBackend('wasm', { wasmPaths: nodeWasmDir(), wasmThreads: 1, kernels: KERNELS_NOT_BUILT });
    expect(active.kernels).toBe(KERNELS_NOT_BUILT);
    const weights = randomWeights(TINY_CONFIG, 3);
    try {
      const d = openDecoder({ config: TINY_CONFIG, weights }, 1);
      expect(d.kind).toBe('tfjs');
      const logits = await d.step([[1, 2, 3]]);
      expect(logits.row(0)).toHaveLength(TINY_CONFIG.vocabSize);
      expect(Number.isFinite(logits.row(0)[0])).toBe(true);
      d.dispose();
    } finally {
      disposeWeights(weights);
    }
    // A later selection that turns them off (the bench's "before") says so instead.
    expect((await useNodeBackend('wasm', { threads: 1, kernels: false })).kernels).toBe('turned off for this run');
    expect(tf.getBackend()).toBe('wasm');
  });
});
