/**
 * One decode step, taken apart (issue 10), on a SmolLM2-135M-shape model with random weights:
 *  - on tfjs ops (llama.ts forwardCached): a 64-token prompt in the KV cache, then one greedy step under
 *    tf.profile: the step's kernel launches, tensors and bytes allocated, and the kernel time per op (largest
 *    first), so that whatever is not a matrix product shows up;
 *  - on our wasm kernels (src/core/kernels, when loaded): the time per kind of work of a decode step at contexts
 *    64 and 1,024 (five steps each, after one untimed) and of a 256-token prefill; then the same with the weights in the packed F32
 *    format (decode's panel layout);
 *  - a decode step with a LoRA adapter (r 8 on all seven projections) at context 64, on tfjs ops and on our kernels.
 * `--quick`: 4 layers, vocab 4096.
 */
import * as tf from '@tensorflow/tfjs';
import { randomWeights } from '../../../src/core/model/init.ts';
import { KvCache } from '../../../src/core/model/kv-cache.ts';
import { forwardCached, type LlamaModel } from '../../../src/core/model/llama.ts';
import { disposeWeights } from '../../../src/core/model/weights.ts';
import { KernelRunner } from '../../../src/core/kernels/forward.ts';
import { KernelKvCache } from '../../../src/core/kernels/kv-cache.ts';
import { loadInFormat } from '../../../src/core/kernels/load-format.ts';
import { activeKernels } from '../../../src/core/kernels/module.ts';
import { disposeLora, initLora } from '../../../src/core/lora/init.ts';
import { withLoraLinears } from '../../../src/core/lora/linear.ts';
import { openDecoder, tfjsDecoder, type CachedDecoder } from '../../../src/core/model/decoder.ts';
import { PROJECTIONS } from '../../../src/core/model/types.ts';
import { argmax } from '../../../src/core/text/sampling.ts';
import { type BenchContext, type BenchSuite, type SuiteRow, wasmLabel } from '../lib/types.ts';
import { SMOLLM2_135M_SHAPE } from './runtime.ts';

const CONTEXT = 64;

export const suite: BenchSuite = {
  name: 'decode-profile',
  description: 'one KV-cache decode step at SmolLM2-135M shape under tf.profile: kernel launches, tensors, bytes, time per op',
  environments: ['node', 'browser'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const config = ctx.options.quick === true ? { ...SMOLLM2_135M_SHAPE, numLayers: 4, vocabSize: 4096 } : SMOLLM2_135M_SHAPE;
    const backend = await ctx.useBackend('wasm');
    const label = wasmLabel(backend);
    const weights = randomWeights(config, 1);
    const model: LlamaModel = { config, weights };
    const cache = new KvCache(config.numLayers, 1);
    const rows: SuiteRow[] = [];
    const row = (metric: string, value: number, unit: string, note?: string) => rows.push({ backend: label, metric, value, unit, ...(note ? { note } : {}) });
    const step = async (ids: number[]): Promise<number> => {
      const input = tf.tensor2d([ids], [1, ids.length], 'int32');
      const logits = forwardCached(model, cache, input);
      input.dispose();
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      return argmax(data);
    };
    try {
      let next = await step(Array.from({ length: CONTEXT }, (_, i) => (i * 7919 + 13) % config.vocabSize));
      for (let i = 0; i < 3; i++) next = await step([next]); // warm
      const t0 = performance.now();
      const profile = await tf.profile(async () => void (next = await step([next])));
      const wall = performance.now() - t0;
      const byOp = new Map<string, { ms: number; n: number }>();
      for (const k of profile.kernels) {
        const e = byOp.get(k.name) ?? { ms: 0, n: 0 };
        e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        e.n += 1;
        byOp.set(k.name, e);
      }
      const kernelMs = [...byOp.values()].reduce((s, e) => s + e.ms, 0);
      row('step wall time (profiled)', wall, 'ms', `context ${CONTEXT}`);
      row('kernel launches per step', profile.kernels.length, 'count');
      row('tensors allocated per step', profile.kernels.reduce((s, k) => s + Math.max(0, k.tensorsAdded), 0) + profile.newTensors, 'count', 'outputs of every kernel');
      row('bytes allocated per step', profile.kernels.reduce((s, k) => s + Math.max(0, k.bytesAdded), 0) / 2 ** 20, 'MiB');
      row('kernel time, all ops', kernelMs, 'ms');
      for (const [name, e] of [...byOp].sort((a, b) => b[1].ms - a[1].ms)) row(`kernel time: ${name}`, e.ms, 'ms', `${e.n} launches, ${((100 * e.ms) / kernelMs).toFixed(1)}%`);
      ctx.log(`${profile.kernels.length} kernels, ${wall.toFixed(1)} ms wall, ${kernelMs.toFixed(1)} ms in kernels`);
      rows.push(...kernelProfile(model, label, ctx));
      rows.push(...(await adapterSteps(model, label, ctx)));
      if (activeKernels()) {
        loadInFormat(model, 'f32-packed');
        rows.push(...kernelProfile(model, `${label}, packed F32`, ctx));
      }
    } finally {
      cache.dispose();
      disposeWeights(weights);
    }
    return rows;
  },
};

/** Our kernels' time per kind of work (see the module comment); no rows when they are not loaded. */
function kernelProfile(model: LlamaModel, label: string, ctx: BenchContext): SuiteRow[] {
  const k = activeKernels();
  if (!k) {
    ctx.log('wasm kernels not loaded: no kernel profile');
    return [];
  }
  const { config } = model;
  const rows: SuiteRow[] = [];
  const backend = `${label}, our kernels (${k.threads} thread${k.threads === 1 ? '' : 's'})`;
  const prompt = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const report = (what: string, profile: Map<string, { ms: number; calls: number }>, steps: number) => {
    const total = profile.get('step')?.ms ?? 0;
    rows.push({ backend, metric: `${what}: time`, value: total / steps, unit: 'ms', note: `mean of ${steps}` });
    for (const [name, e] of [...profile].filter(([n]) => n !== 'step').sort((a, b) => b[1].ms - a[1].ms)) {
      rows.push({ backend, metric: `${what}: ${name}`, value: e.ms / steps, unit: 'ms', note: `${((100 * e.ms) / total).toFixed(1)}%` });
    }
  };
  const runner = new KernelRunner(k, config, model.weights);
  try {
    for (const context of [CONTEXT, 1024]) {
      const cache = new KernelKvCache(k, config, 1);
      runner.step(cache, [prompt(context)]);
      let next = runner.argmax(0);
      // One step untimed: at context 1,024 it doubles the cache (a one-time copy, not a decode step's work).
      runner.step(cache, [[next]]);
      next = runner.argmax(0);
      runner.profile = new Map();
      for (let i = 0; i < 5; i++) {
        runner.step(cache, [[next]]);
        next = runner.argmax(0);
      }
      report(`decode step @ context ${context}`, runner.profile, 5);
      runner.profile = null;
      cache.dispose();
    }
    const cache = new KernelKvCache(k, config, 1);
    runner.profile = new Map();
    runner.step(cache, [prompt(256)]);
    report('prefill 256 tokens', runner.profile, 1);
    cache.dispose();
  } finally {
    runner.dispose();
  }
  return rows;
}

/** Mean ms of a decode step at context 64 with a LoRA adapter, on tfjs ops and (when loaded) on our kernels. */
async function adapterSteps(model: LlamaModel, label: string, ctx: BenchContext): Promise<SuiteRow[]> {
  const lora = initLora({ r: 8, alpha: 16, dropout: 0, rslora: false, targetModules: [...PROJECTIONS], layers: null }, model.config, 1);
  const rows: SuiteRow[] = [];
  try {
    await withLoraLinears(lora, async (linears) => {
      const time = async (d: CachedDecoder): Promise<number> => {
        const prompt = Array.from({ length: CONTEXT }, (_, i) => (i * 7919 + 13) % model.config.vocabSize);
        let next = (await d.step([prompt])).argmax(0);
        next = (await d.step([[next]])).argmax(0);
        const t0 = performance.now();
        for (let i = 0; i < 5; i++) next = (await d.step([[next]])).argmax(0);
        d.dispose();
        return (performance.now() - t0) / 5;
      };
      const decoders: Array<[string, () => CachedDecoder]> = [['tfjs ops', () => tfjsDecoder(model, 1, { linears })]];
      if (activeKernels()) decoders.push(['our kernels', () => openDecoder(model, 1, { linears })]);
      for (const [what, open] of decoders) {
        const d = open();
        const kind = d.kind;
        const ms = await time(d);
        rows.push({ backend: `${label}, ${what} (${kind})`, metric: `decode step with a LoRA adapter (r 8, 7 projections) @ context ${CONTEXT}`, value: ms, unit: 'ms', note: 'mean of 5' });
        ctx.log(`decode step with an adapter on ${kind}: ${ms.toFixed(1)} ms`);
      }
    });
  } finally {
    disposeLora(lora);
  }
  return rows;
}
