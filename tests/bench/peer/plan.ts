/**
 * What `npm run bench -- --only peer` measures, shared by our side (ours.ts, in a child process per thread
 * count) and llama.cpp's (run.ts): the same random weights (SmolLM2-135M's shape, seed 1), the same prompts,
 * the same protocol. A "step" is one evaluation of new tokens through the KV cache plus the greedy pick of the
 * next token: prefill = one step of `prefill` tokens; decode at context C = single-token steps after a C-token
 * prompt, reported from the median step.
 */
import type { ModelConfig } from '../../../src/core/model/types.ts';
import { SMOLLM2_135M_SHAPE } from '../suites/runtime.ts';

export interface PeerPlan {
  config: ModelConfig;
  seed: number;
  prefill: number;
  contexts: readonly number[];
  /** Timed single-token steps per context (after one untimed step). */
  decodeSteps: number;
  /** Alternations of ours and llama.cpp, the order flipped every other round: an even count, so that each side
   *  goes first equally often (of two processes run one after the other, the first tends to decode faster here). */
  rounds: number;
}

export function peerPlan(quick: boolean): PeerPlan {
  if (quick) return { config: { ...SMOLLM2_135M_SHAPE, numLayers: 4, vocabSize: 4096 }, seed: 1, prefill: 32, contexts: [16, 128], decodeSteps: 4, rounds: 1 };
  return { config: SMOLLM2_135M_SHAPE, seed: 1, prefill: 256, contexts: [64, 1024], decodeSteps: 12, rounds: 4 };
}

/** Prompt ids that are not all alike (some kernels take shortcuts on constant input). */
export function peerPrompt(length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919 + 13) % vocab);
}

/** One side's figures from one round: tokens/s. */
export interface SideFigures {
  /** What ran, e.g. `wasm (threaded-simd build, 2 threads)`. */
  label: string;
  threads: number;
  prefill: number;
  /** Context → decode tokens/s (median step). */
  decode: Record<number, number>;
}

/**
 * The matrix products of a `tokens`-token prefill, in FLOP (2 per multiply-add): every layer's seven projections
 * for every token, and the logits of the last token only (what both engines compute). Attention's products are
 * left out (under 10 % of ours at 256 tokens), so a rate from this is a floor on the rate that ran.
 */
export function prefillMatmulFlop(c: ModelConfig, tokens: number): number {
  const h = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const perToken = c.numLayers * (h * q + 2 * h * kv + q * h + 3 * h * c.intermediateSize);
  return 2 * (tokens * perToken + h * c.vocabSize);
}
