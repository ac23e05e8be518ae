/**
 * Our side of `npm run bench -- --only peer`, run in a child process per thread count (tfjs-wasm fixes its
 * thread pool when the backend starts, so one process cannot measure two counts):
 *
 *   node --import tsx tests/bench/peer/ours.ts '{"threads":2,"quick":false,"weights":"int8"}'   (or "f32-packed")
 *   node --import tsx tests/bench/peer/ours.ts '{"threads":1,"quick":false,"kernels":false}'   ("before")
 *
 * Builds the plan's random weights (in the packed F32 or 8-bit format when asked), times the plan's steps (plan.ts) through
 * the engine's own decoder (the wasm kernels where they load, else tfjs ops) and prints one JSON line
 * (SideFigures).
 */
import { useNodeBackend } from '../../../src/cli/node-backend.ts';
import { randomWeights } from '../../../src/core/model/init.ts';
import { loadInFormat, type WeightFormat } from '../../../src/core/kernels/load-format.ts';
import { activeKernels } from '../../../src/core/kernels/module.ts';
import { openDecoder, type CachedDecoder } from '../../../src/core/model/decoder.ts';
import type { LlamaModel } from '../../../src/core/model/llama.ts';
import { disposeWeights } from '../../../src/core/model/weights.ts';
import { wasmLabel } from '../lib/types.ts';
import { median, peerPlan, peerPrompt, type SideFigures } from './plan.ts';

interface Args {
  threads: number;
  quick: boolean;
  weights?: WeightFormat;
  /** false: tfjs ops only, as main's engine before issue 10 (with threads 1: its single-threaded SIMD build). */
  kernels?: boolean;
}

/** Feeds `ids` through the decoder's cache and picks the next token greedily. */
async function step(decoder: CachedDecoder, ids: readonly number[]): Promise<number> {
  return (await decoder.step([[...ids]])).argmax(0);
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const plan = peerPlan(args.quick);
  const backend = await useNodeBackend('wasm', { threads: args.threads, kernels: args.kernels !== false });
  const weights = randomWeights(plan.config, plan.seed);
  const model: LlamaModel = { config: plan.config, weights };
  if (args.weights && args.weights !== 'f32') loadInFormat(model, args.weights);
  const V = plan.config.vocabSize;
  const fresh = () => openDecoder(model, 1);
  try {
    // Warm-up: kernels compiled, heap grown, XNNPACK's packed weights made.
    const warm = fresh();
    let next = await step(warm, peerPrompt(8, V));
    for (let i = 0; i < 2; i++) next = await step(warm, [next]);
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
    const how = activeKernels() ? `kernels${args.weights === 'int8' ? ', 8-bit' : args.weights === 'f32-packed' ? ', packed F32' : ''}${counts ? `, helpers on ${counts.pool} of ${counts.pool + counts.single} steps` : ''}` : 'tfjs ops';
    const out: SideFigures = { label: `${wasmLabel({ ...backend, crossOriginIsolated: null })}, ${how}`, threads: backend.threads ?? 1, prefill: (plan.prefill * 1000) / prefillMs, decode };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    disposeWeights(weights);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
