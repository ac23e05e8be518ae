/**
 * llama.cpp beside us (issue 10): prefill 256 tokens and decode at contexts 64 and 1,024 on the same random
 * SmolLM2-135M-shape weights, ours against llama.cpp on F32 and Q8_0, with 1 thread and every core, alternated
 * three times (medians and ratios). Node only; see tests/bench/peer/run.ts. `--quick`: 4 layers, short
 * contexts, one round.
 */
import type { BenchContext, BenchSuite, SuiteRow } from '../lib/types.ts';

// Node only (child processes, llama.cpp): loaded at run time, so the browser harness never bundles it.
const NODE_RUNNER = '../peer/run.ts';

export const suite: BenchSuite = {
  name: 'peer',
  description: 'ours vs llama.cpp (F32, Q8_0) on the same random SmolLM2-135M-shape weights: prefill 256, decode @64/@1024, 1 thread and all cores',
  environments: ['node'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const { runPeer } = (await import(/* @vite-ignore */ NODE_RUNNER)) as typeof import('../peer/run.ts');
    return runPeer(ctx);
  },
};
