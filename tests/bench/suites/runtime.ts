/**
 * The runtime benchmark (issue 3): a randomly initialised model with SmolLM2-135M's shape (30 layers, hidden
 * 576, 9/3 heads, vocab 49152, tied embeddings), built in memory, on the wasm backend. Reports prefill
 * tokens/s for a 256-token prompt, decode tokens/s at context 64 and 1024 with the KV cache and without it,
 * the decode@1024 / decode@64 ratio (the cache should keep it ≥ 0.7), and peak memory.
 * `--quick` shrinks everything (4 layers, short contexts) to check the machinery in seconds.
 */
import * as tf from '@tensorflow/tfjs';
import { generate, type GenerationModel } from '../../../src/core/model/generate.ts';
import { randomWeights } from '../../../src/core/model/init.ts';
import { KvCache } from '../../../src/core/model/kv-cache.ts';
import { forwardCached, type LlamaModel } from '../../../src/core/model/llama.ts';
import { argmax } from '../../../src/core/text/sampling.ts';
import { disposeWeights, parameterCount } from '../../../src/core/model/weights.ts';
import type { ModelConfig } from '../../../src/core/model/types.ts';
import { type BenchContext, type BenchSuite, type SuiteRow, wasmLabel } from '../lib/types.ts';

export const SMOLLM2_135M_SHAPE: ModelConfig = {
  architecture: 'llama',
  vocabSize: 49152,
  hiddenSize: 576,
  intermediateSize: 1536,
  numLayers: 30,
  numHeads: 9,
  numKvHeads: 3,
  headDim: 64,
  rmsNormEps: 1e-5,
  ropeTheta: 100000,
  ropeScaling: { type: 'default' },
  maxPositionEmbeddings: 8192,
  tieWordEmbeddings: true,
  attentionBias: false,
  attentionOutputBias: false,
  qkNorm: false,
  bosTokenId: 0,
  eosTokenIds: [],
};

interface Plan {
  config: ModelConfig;
  prefill: number;
  shortContext: number;
  longContext: number;
  /** Decode steps timed per context (interleaved between the two contexts). */
  decodeTokens: number;
  uncachedTokens: { short: number; long: number };
}

function plan(quick: boolean): Plan {
  if (!quick) {
    return { config: SMOLLM2_135M_SHAPE, prefill: 256, shortContext: 64, longContext: 1024, decodeTokens: 24, uncachedTokens: { short: 6, long: 3 } };
  }
  return {
    config: { ...SMOLLM2_135M_SHAPE, numLayers: 4, vocabSize: 4096 },
    prefill: 64,
    shortContext: 16,
    longContext: 128,
    decodeTokens: 8,
    uncachedTokens: { short: 3, long: 3 },
  };
}

/** Prompt ids that are not all alike (some kernels take shortcuts on constant input). */
function promptOf(length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919 + 13) % vocab);
}

export const suite: BenchSuite = {
  name: 'runtime',
  description: 'tfjs decoder at SmolLM2-135M shape: prefill, KV-cache decode at short/long context, no-cache comparison, memory',
  environments: ['node', 'browser'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const p = plan(ctx.options.quick === true);
    const backend = await ctx.useBackend('wasm');
    const label = wasmLabel(backend);
    ctx.log(`backend ${label}; building ${p.config.numLayers}-layer model with random weights…`);
    const rows: SuiteRow[] = [];
    const row = (metric: string, value: number, unit: string, note?: string): void => {
      rows.push({ backend: label, metric, value, unit, ...(note ? { note } : {}) });
      ctx.log(`${metric}: ${value.toFixed(unit === 'ratio' ? 3 : 1)} ${unit}`);
    };

    const weights = randomWeights(p.config, 1);
    const model: GenerationModel = { config: p.config, weights, tokenizer: null };
    try {
      row('parameters', parameterCount(weights) / 1e6, 'M');
      const weightBytes = tf.memory().numBytes;
      row('weights in memory', weightBytes / 2 ** 20, 'MiB');
      const heapBytes = (): number | null => (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length ?? null;
      const heapAtLoad = heapBytes();
      // Warm-up: compile kernels and size the heap.
      await generate(model, promptOf(8, p.config.vocabSize), { maxTokens: 3, stopTokenIds: [] });

      // Peak memory of a long prefill + decode, measured before anything below runs tfjs ops (their XNNPACK
      // matmuls keep packed copies of the weights in the heap). On the kernel path (kernels/decode.c) no tfjs
      // op runs, so tf.profile sees no kernel and has no peak; the kernels allocate in tfjs-wasm's heap, which
      // grows and never shrinks, so its size afterwards bounds the peak (weights included) from above.
      for (const prefillChunk of [0, p.longContext / 4]) {
        const profile = await tf.profile(async () => {
          await generate(model, promptOf(p.longContext, p.config.vocabSize), { maxTokens: 2, stopTokenIds: [], ...(prefillChunk ? { prefillChunk } : {}) });
        });
        const note = prefillChunk ? `prefillChunk ${prefillChunk}` : 'prompt in one pass';
        if (profile.kernels.length > 0) row(`peak tensor memory (weights + activations), prefill ${p.longContext} + decode`, profile.peakBytes / 2 ** 20, 'MiB', note);
      }
      const heap = heapBytes();
      if (heap !== null) {
        row(`peak memory bound, prefill ${p.longContext} + decode (wasm heap after it)`, heap / 2 ** 20, 'MiB', `goal ≤ weights + 512 = ${(weightBytes / 2 ** 20 + 512).toFixed(0)}; heap at load ${((heapAtLoad ?? 0) / 2 ** 20).toFixed(0)}`);
      }

      const prefill = await generate(model, promptOf(p.prefill, p.config.vocabSize), { maxTokens: 1, stopTokenIds: [] });
      row(`prefill ${p.prefill} tokens`, prefill.usage.prefillTokensPerSec, 'tokens/s');

      // KV-cache decode at the two contexts, one step of each in turn, so that load from other processes
      // hits both alike; the median step time of each is reported.
      const [short, long] = await interleavedDecode(model, [p.shortContext, p.longContext], p.decodeTokens);
      row(`decode @ context ${p.shortContext} (KV cache)`, short, 'tokens/s', 'median step');
      row(`decode @ context ${p.longContext} (KV cache)`, long, 'tokens/s', 'median step');
      row(`decode ratio @${p.longContext} / @${p.shortContext} (KV cache)`, long / short, 'ratio', 'goal ≥ 0.7');

      if (heap !== null) row('wasm heap at the end (high-water)', (heapBytes() ?? 0) / 2 ** 20, 'MiB', 'after the tfjs-op decodes above: includes XNNPACK packed weight copies');
      const bytes = ctx.processBytes();
      if (bytes !== null) row(ctx.env === 'node' ? 'process RSS' : 'JS heap in use', bytes / 2 ** 20, 'MiB');

      const decode = async (context: number, tokens: number): Promise<number> => {
        const r = await generate(model, promptOf(context, p.config.vocabSize), { maxTokens: tokens + 1, stopTokenIds: [], useCache: false });
        return r.usage.decodeTokensPerSec;
      };
      const shortNoCache = await decode(p.shortContext, p.uncachedTokens.short);
      row(`decode @ context ${p.shortContext} (no cache)`, shortNoCache, 'tokens/s');
      const longNoCache = await decode(p.longContext, p.uncachedTokens.long);
      row(`decode @ context ${p.longContext} (no cache)`, longNoCache, 'tokens/s');
      row(`decode ratio @${p.longContext} / @${p.shortContext} (no cache)`, longNoCache / shortNoCache, 'ratio');
    } finally {
      disposeWeights(weights);
    }
    return rows;
  },
};

/**
 * Prefills one cache per context, then times greedy decode steps (forward through the cache, read the logits,
 * pick the token) alternating between the caches. Returns tokens/s from the median step of each context.
 */
async function interleavedDecode(model: LlamaModel, contexts: number[], steps: number): Promise<number[]> {
  const V = model.config.vocabSize;
  const caches = contexts.map(() => new KvCache(model.config.numLayers, 1));
  const next: number[] = [];
  const times: number[][] = contexts.map(() => []);
  const step = async (cache: KvCache, ids: number[]): Promise<number> => {
    const input = tf.tensor2d([ids], [1, ids.length], 'int32');
    const logits = forwardCached(model, cache, input);
    input.dispose();
    const data = await logits.data();
    logits.dispose();
    return argmax(data.subarray(0, V));
  };
  try {
    for (let i = 0; i < contexts.length; i++) next.push(await step(caches[i], promptOf(contexts[i], V)));
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < contexts.length; i++) {
        const t0 = performance.now();
        next[i] = await step(caches[i], [next[i]]);
        times[i].push(performance.now() - t0);
      }
    }
  } finally {
    for (const c of caches) c.dispose();
  }
  return times.map((t) => 1000 / median(t));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
