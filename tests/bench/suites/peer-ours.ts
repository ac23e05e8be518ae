/**
 * Our engine on the peer plan (tests/bench/peer/plan.ts) in this environment: prefill 256 and decode @64/@1024
 * on the random SmolLM2-135M-shape weights, in F32 and packed F32, at the backend's thread count (`--threads N`).
 * The option `weights` (one format) is what peer-browser passes: it runs this in a fresh Chromium page per thread
 * count and format.
 */
import type { WeightFormat } from '../../../src/core/kernels/load-format.ts';
import { measureOurs } from '../peer/measure-ours.ts';
import { peerPlan, type SideFigures } from '../peer/plan.ts';
import { type BenchContext, type BenchSuite, type SuiteRow, wasmLabel } from '../lib/types.ts';

export const suite: BenchSuite = {
  name: 'peer-ours',
  description: 'our engine alone on the peer plan (F32 and packed F32): prefill 256, decode @64/@1024',
  environments: ['node', 'browser'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const backend = await ctx.useBackend('wasm');
    const plan = peerPlan(ctx.options.quick === true);
    const formats: WeightFormat[] = typeof ctx.options.weights === 'string' ? [ctx.options.weights as WeightFormat] : ['f32', 'f32-packed'];
    const rows: SuiteRow[] = [];
    for (const format of formats) {
      const s: SideFigures = await measureOurs(plan, format, wasmLabel(backend), backend.threads ?? 1);
      rows.push({ backend: s.label, metric: `prefill ${plan.prefill} tokens`, value: s.prefill, unit: 'tokens/s', note: format });
      for (const [c, v] of Object.entries(s.decode)) rows.push({ backend: s.label, metric: `decode @ context ${c}`, value: v, unit: 'tokens/s', note: format });
    }
    return rows;
  },
};
