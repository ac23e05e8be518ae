/**
 * Our side of `npm run bench -- --only peer`, run in a child process per thread count (tfjs-wasm fixes its
 * thread pool when the backend starts, so one process cannot measure two counts):
 *
 *   node --import tsx tests/bench/peer/ours.ts '{"threads":2,"quick":false}'
 *
 * Builds the plan's random weights, times the plan's steps (plan.ts) and prints one JSON line (SideFigures).
 */
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../../../src/cli/node-backend.ts';
import { randomWeights } from '../../../src/core/model/init.ts';
import { KvCache } from '../../../src/core/model/kv-cache.ts';
import { forwardCached, type LlamaModel } from '../../../src/core/model/llama.ts';
import { disposeWeights } from '../../../src/core/model/weights.ts';
import { argmax } from '../../../src/core/text/sampling.ts';
import { wasmLabel } from '../lib/types.ts';
import { median, peerPlan, peerPrompt, type SideFigures } from './plan.ts';

interface Args {
  threads: number;
  quick: boolean;
}

/** Feeds `ids` through the cache, reads the last position's logits and picks the next token greedily. */
async function step(model: LlamaModel, cache: KvCache, ids: readonly number[]): Promise<number> {
  const input = tf.tensor2d([ids as number[]], [1, ids.length], 'int32');
  const logits = forwardCached(model, cache, input);
  input.dispose();
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return argmax(data);
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const plan = peerPlan(args.quick);
  const backend = await useNodeBackend('wasm');
  const weights = randomWeights(plan.config, plan.seed);
  const model: LlamaModel = { config: plan.config, weights };
  const V = plan.config.vocabSize;
  const fresh = () => new KvCache(plan.config.numLayers, 1);
  try {
    // Warm-up: kernels compiled, heap grown, XNNPACK's packed weights made.
    const warm = fresh();
    let next = await step(model, warm, peerPrompt(8, V));
    for (let i = 0; i < 2; i++) next = await step(model, warm, [next]);
    warm.dispose();

    const pre = fresh();
    const [, prefillMs] = await timed(() => step(model, pre, peerPrompt(plan.prefill, V)));
    pre.dispose();

    const decode: Record<number, number> = {};
    for (const context of plan.contexts) {
      const cache = fresh();
      next = await step(model, cache, peerPrompt(context, V));
      next = await step(model, cache, [next]);
      const times: number[] = [];
      for (let s = 0; s < plan.decodeSteps; s++) {
        const [id, ms] = await timed(() => step(model, cache, [next]));
        next = id;
        times.push(ms);
      }
      cache.dispose();
      decode[context] = 1000 / median(times);
    }
    const out: SideFigures = { label: wasmLabel({ ...backend, crossOriginIsolated: null }), threads: backend.threads ?? 1, prefill: (plan.prefill * 1000) / prefillMs, decode };
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
