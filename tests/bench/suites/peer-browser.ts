/**
 * Our engine beside llama.cpp in Chromium (issue 12): prefill 256 and decode @64/@1024 on the peer plan's random
 * SmolLM2-135M-shape weights, ours (F32 and packed F32, the runtime harness page) against @wllama/wllama (llama.cpp
 * in WebAssembly, F32), 1 thread and every core, alternated three times. Driven from Node; see
 * tests/bench/peer/browser-run.ts. `--quick`: 4 layers, short contexts, one round.
 */
import type { BenchContext, BenchSuite, SuiteRow } from '../lib/types.ts';

// Node only (it launches Chromium itself): loaded at run time, so the browser harness never bundles it.
const NODE_RUNNER = '../peer/browser-run.ts';

export const suite: BenchSuite = {
  name: 'peer-browser',
  description: 'ours vs llama.cpp in Chromium (wllama, F32) on the same random SmolLM2-135M-shape weights: prefill 256, decode @64/@1024, 1 thread and all cores',
  environments: ['node'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const { runBrowserPeer } = (await import(/* @vite-ignore */ NODE_RUNNER)) as typeof import('../peer/browser-run.ts');
    return runBrowserPeer(ctx);
  },
};
