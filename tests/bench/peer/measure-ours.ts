/**
 * Our side of the peer plan (plan.ts), in Node (ours.ts, a child process per thread count) and in Chromium (the
 * peer-ours suite, a page per thread count): the plan's random weights, in the format asked, timed step by step
 * through the engine's own decoder (the wasm kernels where they load, else tfjs ops). Environment-neutral: the
 * caller has started the backend.
 */
import { loadInFormat, type WeightFormat } from '../../../src/core/kernels/load-format.ts';
import { activeKernels } from '../../../src/core/kernels/module.ts';
import { openDecoder, type CachedDecoder } from '../../../src/core/model/decoder.ts';
import { randomWeights } from '../../../src/core/model/init.ts';
import type { LlamaModel } from '../../../src/core/model/llama.ts';
import { disposeWeights } from '../../../src/core/model/weights.ts';
import { peerPrompt, type PeerPlan, type SideFigures } from './plan.ts';
import { median } from '../../../src/core/stats/median.ts';

/** Feeds `ids` through the decoder's cache and picks the next token greedily. */
async function step(decoder: CachedDecoder, ids: readonly number[]): Promise<number> {
  return (await decoder.step([[...ids]])).argmax(0);
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

/** Prefill and decode figures of our engine on the plan; `label` names the backend (what runs is appended). */
export async function measureOurs(plan: PeerPlan, format: WeightFormat, label: string, threads: number): Promise<SideFigures> {
  const weights = randomWeights(plan.config, plan.seed);
  const model: LlamaModel = { config: plan.config, weights };
  try {
    if (format !== 'f32') loadInFormat(model, format);
    const V = plan.config.vocabSize;
    const fresh = () => openDecoder(model, 1);
    // Warm-up: kernels compiled, heap grown, XNNPACK's packed weights made, and the helper threads' first probe
    // done (HelperChoice runs alternate decode steps on one thread at first; the other formats' load already
    // spent those steps on its logit check, so without this only F32's timed steps would include them).
    const probes = activeKernels()?.helperChoice?.probeSteps ?? 0;
    const warm = fresh();
    let next = await step(warm, peerPrompt(8, V));
    for (let i = 0; i < 2 + probes; i++) next = await step(warm, [next]);
    warm.dispose();

    const pre = fresh();
    const [, prefillMs] = await timed(() => step(pre, peerPrompt(plan.prefill, V)));
    pre.dispose();

    const decode: Record<number, number> = {};
    for (const context of plan.contexts) {
      const cache = fresh();
      next = await step(cache, peerPrompt(context, V));
      next = await step(cache, [next]);
      const times: number[] = [];
      for (let s = 0; s < plan.decodeSteps; s++) {
        const [id, ms] = await timed(() => step(cache, [next]));
        next = id;
        times.push(ms);
      }
      cache.dispose();
      decode[context] = 1000 / median(times);
    }
    const counts = activeKernels()?.helperChoice?.counts;
    const what = format === 'int8' ? ', 8-bit' : format === 'f32-packed' ? ', packed F32' : '';
    const how = activeKernels() ? `kernels${what}${counts ? `, helpers on ${counts.pool} of ${counts.pool + counts.single} steps` : ''}` : 'tfjs ops';
    return { label: `${label}, ${how}`, threads, prefill: (plan.prefill * 1000) / prefillMs, decode };
  } finally {
    disposeWeights(weights);
  }
}
