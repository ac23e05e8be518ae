/**
 * Text generation with the tfjs decoder: one prefill pass over the prompt, then one token per step through the
 * KV cache (LM head on the last position only). Sampling (greedy, temperature, top-k, top-p, repetition penalty,
 * seed), stop strings, eos ids, max new tokens, a token stream callback and abort.
 *
 * `generateBatch` decodes several prompts together: rows are left-padded (padding is masked and RoPE positions
 * count real tokens only, so each row computes what it would alone), each row stops on its own, and finished
 * rows are dropped from the batch. `generate` is a batch of one.
 *
 * Context: a prompt that leaves no room for a token in `contextLength` throws AppError('context-overflow')
 * unless `overflow: 'truncate-left'`, which drops the oldest prompt tokens to leave room for maxTokens (at
 * least one prompt token is kept). Generation also ends ('length') when the sequence reaches contextLength.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { FinishReason, GenerationParams, Usage } from '../text/generation.ts';
import { randomSeed, seededRandom, type Random } from '../text/random.ts';
import { argmax, sampleToken, samplingParams, type SamplingParams } from '../text/sampling.ts';
import { TextStream } from '../text/text-stream.ts';
import type { ChatMessage, TextTokenizer } from '../text/types.ts';
import { openDecoder, type StepLogits } from './decoder.ts';
import type { Linears } from './linear.ts';
import { forward, type LlamaModel } from './llama.ts';

/** What generation needs: the decoder, and a tokenizer for text, stop strings and eos (null: ids only). */
export interface GenerationModel extends LlamaModel {
  tokenizer: TextTokenizer | null;
  /** Defaults to config.maxPositionEmbeddings. */
  contextLength?: number;
}

export const DEFAULT_MAX_TOKENS = 256;

/** Settings shared by all rows of a call. */
export interface RunOptions {
  /**
   * Wraps the projections for this call: an adapter (the same loaded model serves none / X / Y without
   * reloading). Used as given, never freed here; an adapter arranged once for the whole call saves work on
   * every step.
   */
  linears?: Linears | null;
  signal?: AbortSignal;
  /** Default true. false recomputes the whole sequence every step (for checks and benchmarks). */
  useCache?: boolean;
  /** See the module comment. Default 'error'. */
  overflow?: 'error' | 'truncate-left';
  /** Token ids that end a row; default the tokenizer's eos ids. */
  stopTokenIds?: readonly number[];
  /** generateBatch: rows decoded together (default 8). */
  batchSize?: number;
  /** generateBatch: called with each row's result as soon as its group of rows is done (for progress). */
  onRowDone?: (index: number, result: GenerateResult) => void;
  /** KV cache block size (see kv-cache.ts); default 64. */
  cacheBlockSize?: number;
  /**
   * By default the whole prompt is prefilled in one pass. A number prefills it through the cache that many
   * tokens at a time instead: same results, lower peak memory for long prompts (activations scale with it).
   */
  prefillChunk?: number;
}

export interface GenerateOptions extends GenerationParams, RunOptions {
  /** Each newly final piece of text. */
  onToken?: (delta: string, tokenId: number) => void;
}

export interface BatchRow extends GenerationParams {
  ids: readonly number[];
  onToken?: (delta: string, tokenId: number) => void;
}

export interface GenerateResult {
  /** Generated token ids, without the eos that ended the row. */
  tokens: number[];
  /** Decoded text (special tokens skipped), cut before a stop string. Empty without a tokenizer. */
  text: string;
  finishReason: FinishReason;
  /** The prompt as actually used (after truncate-left). */
  promptTokens: number;
  usage: Usage;
}

export async function generate(model: GenerationModel, promptIds: readonly number[], o: GenerateOptions = {}): Promise<GenerateResult> {
  const [result] = await generateBatch(model, [{ ...o, ids: promptIds }], o);
  return result;
}

/** Applies the model's chat template (with the generation prompt) and generates the reply. */
export async function generateChat(model: GenerationModel, messages: readonly ChatMessage[], o: GenerateOptions = {}): Promise<GenerateResult> {
  if (!model.tokenizer) throw new AppError('tokenizer', 'This model has no tokenizer, so it cannot take chat messages.');
  return generate(model, encodeChat(model.tokenizer, messages), o);
}

export function encodeChat(tokenizer: TextTokenizer, messages: readonly ChatMessage[]): number[] {
  return tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }));
}

interface RowState {
  index: number;
  prompt: number[];
  maxNew: number;
  sampling: SamplingParams;
  random: Random;
  seen: Set<number> | null;
  stream: TextStream | null;
  onToken?: (delta: string, tokenId: number) => void;
  tokens: number[];
  done: FinishReason | null;
}

export async function generateBatch(model: GenerationModel, rows: readonly BatchRow[], o: RunOptions = {}): Promise<GenerateResult[]> {
  const contextLength = model.contextLength ?? model.config.maxPositionEmbeddings;
  const stopIds = new Set(o.stopTokenIds ?? model.tokenizer?.eosTokenIds ?? model.config.eosTokenIds);
  const states = rows.map((r, index) => prepareRow(model, r, index, contextLength, o.overflow ?? 'error'));
  const results: GenerateResult[] = new Array(rows.length);
  // Similar lengths together: less padding.
  const order = [...states].sort((a, b) => b.prompt.length - a.prompt.length);
  const size = Math.max(1, o.batchSize ?? 8);
  for (let i = 0; i < order.length; i += size) {
    const chunk = order.slice(i, i + size);
    const timing = await runChunk(model, chunk, stopIds, o);
    for (const s of chunk) {
      results[s.index] = finish(s, timing);
      o.onRowDone?.(s.index, results[s.index]);
    }
  }
  return results;
}

function prepareRow(model: GenerationModel, r: BatchRow, index: number, contextLength: number, overflow: 'error' | 'truncate-left'): RowState {
  const V = model.config.vocabSize;
  for (const id of r.ids) {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new AppError('bad-input', `Token id ${id} is outside this model's vocabulary (0–${V - 1}).`);
  }
  if (r.ids.length === 0) throw new AppError('bad-input', 'The prompt is empty; give at least one token.');
  const maxTokens = r.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new AppError('bad-input', `maxTokens ${maxTokens} must be a whole number ≥ 0.`);
  if (r.stop?.length && !model.tokenizer) throw new AppError('bad-input', 'Stop strings need a tokenizer; this model has none.');
  let prompt = [...r.ids];
  if (overflow === 'truncate-left' && prompt.length + maxTokens > contextLength) {
    prompt = prompt.slice(prompt.length - Math.max(1, contextLength - maxTokens));
  }
  if (prompt.length >= contextLength) {
    throw new AppError(
      'context-overflow',
      `The prompt has ${prompt.length} tokens, but this model reads at most ${contextLength} (prompt and reply together). Shorten the prompt or the conversation.`,
    );
  }
  const sampling = samplingParams(r);
  return {
    index,
    prompt,
    maxNew: Math.min(maxTokens, contextLength - prompt.length),
    sampling,
    random: seededRandom(r.seed ?? randomSeed()),
    seen: sampling.repetitionPenalty !== 1 ? new Set(prompt) : null,
    stream: model.tokenizer ? new TextStream(model.tokenizer, r.stop ?? []) : null,
    onToken: r.onToken,
    tokens: [],
    done: null,
  };
}

interface ChunkTiming {
  promptTokens: number;
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
  totalMs: number;
}

async function runChunk(
  model: GenerationModel,
  rows: RowState[],
  stopIds: ReadonlySet<number>,
  o: RunOptions,
): Promise<ChunkTiming> {
  const start = now();
  const timing: ChunkTiming = { promptTokens: rows.reduce((n, r) => n + r.prompt.length, 0), prefillMs: 0, decodeTokens: 0, decodeMs: 0, totalMs: 0 };
  for (const r of rows) if (r.maxNew === 0) r.done = 'length';
  if (o.signal?.aborted) for (const r of rows) r.done ??= 'abort';
  let active = rows.filter((r) => !r.done);
  if (active.length === 0) return { ...timing, totalMs: now() - start };

  const useCache = o.useCache ?? true;
  const length = Math.max(...active.map((r) => r.prompt.length + r.maxNew));
  const decoder = useCache ? openDecoder(model, active.length, { linears: o.linears ?? null, blockSize: o.cacheBlockSize, length }) : null;
  const linears = o.linears ?? null;
  try {
    // Prefill: every active row, left-padded to the longest.
    const T = Math.max(...active.map((r) => r.prompt.length));
    const ids = active.map((r) => [...new Array<number>(T - r.prompt.length).fill(0), ...r.prompt]);
    const real = active.map((r) => ids[0].map((_, t) => (t >= T - r.prompt.length ? 1 : 0)));
    let logits: StepLogits;
    if (decoder) {
      const chunk = Math.max(1, o.prefillChunk ?? T);
      for (let at = 0; ; at += chunk) {
        const end = Math.min(T, at + chunk);
        // Only the prompt's last position predicts the first new token: earlier chunks' logits are dropped.
        logits = await decoder.step(ids.map((r) => r.slice(at, end)), real.map((r) => r.slice(at, end)));
        if (end === T) break;
      }
    } else logits = await stepFull(model, ids, real, linears);
    timing.prefillMs = now() - start;
    const decodeStart = now();

    for (;;) {
      // Choose a token for each active row; finish rows that are done.
      const step = logits!;
      active.forEach((r, b) => {
        // Greedy rows without a repetition penalty need no copy of the vocabulary's logits.
        const id = r.sampling.temperature === 0 && r.sampling.repetitionPenalty === 1 ? step.argmax(b) : sampleToken(step.row(b), r.sampling, r.seen, r.random);
        if (stopIds.has(id)) {
          r.done = 'stop';
          return;
        }
        r.tokens.push(id);
        r.seen?.add(id);
        if (r.stream) {
          const { delta, stopped } = r.stream.push(id);
          if (delta) r.onToken?.(delta, id);
          if (stopped) r.done = 'stop';
        } else r.onToken?.('', id);
        if (!r.done && r.tokens.length >= r.maxNew) r.done = 'length';
      });
      const next = active.filter((r) => !r.done);
      if (next.length === 0) break;
      await yieldToEventLoop();
      if (o.signal?.aborted) {
        for (const r of next) r.done = 'abort';
        break;
      }
      if (next.length < active.length) {
        decoder?.keepRows(next.map((r) => active.indexOf(r)));
        active = next;
      }
      timing.decodeTokens += active.length;
      if (decoder) {
        logits = await decoder.step(active.map((r) => [r.tokens[r.tokens.length - 1]]));
      } else {
        const L = Math.max(...active.map((r) => r.prompt.length + r.tokens.length));
        const seqs = active.map((r) => [...r.prompt, ...r.tokens]);
        const padded = seqs.map((s) => [...new Array<number>(L - s.length).fill(0), ...s]);
        const mask = seqs.map((s) => padded[0].map((_, t) => (t >= L - s.length ? 1 : 0)));
        logits = await stepFull(model, padded, mask, linears);
      }
    }
    timing.decodeMs = now() - decodeStart;
  } finally {
    decoder?.dispose();
  }
  timing.totalMs = now() - start;
  return timing;
}

/** Without a cache: the whole (left-padded) sequence again, logits of the last position [B, V]. */
async function stepFull(model: LlamaModel, ids: number[][], real: number[][], linears: Linears | null): Promise<StepLogits> {
  const V = model.config.vocabSize;
  const last = tf.tidy(() => {
    const [B, T] = [ids.length, ids[0].length];
    const input = tf.tensor2d(ids, [B, T], 'int32');
    const logits = forward(model, input, { linears, attentionMask: real }); // [B, T, V]
    return tf.reshape(tf.slice(logits, [0, T - 1, 0], [B, 1, V]), [B, V]) as tf.Tensor2D;
  });
  let data: Float32Array;
  try {
    data = (await last.data()) as Float32Array;
  } finally {
    last.dispose();
  }
  return { row: (b) => data.subarray(b * V, (b + 1) * V), argmax: (b) => argmax(data.subarray(b * V, (b + 1) * V)) };
}

function finish(r: RowState, t: ChunkTiming): GenerateResult {
  if (r.stream) {
    const rest = r.stream.finish(); // text held back for a possible stop string is final now
    if (rest) r.onToken?.(rest, r.tokens[r.tokens.length - 1] ?? -1);
  }
  return {
    tokens: r.tokens,
    text: r.stream ? r.stream.text : '',
    finishReason: r.done ?? 'length',
    promptTokens: r.prompt.length,
    usage: {
      promptTokens: r.prompt.length,
      completionTokens: r.tokens.length,
      prefillTokensPerSec: t.prefillMs > 0 ? (t.promptTokens * 1000) / t.prefillMs : 0,
      decodeTokensPerSec: t.decodeMs > 0 ? (t.decodeTokens * 1000) / t.decodeMs : 0,
      totalMs: t.totalMs,
    },
  };
}

function now(): number {
  return performance.now();
}

/** Lets queued events (an abort from the page, a worker message) run between steps. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (g.setImmediate) return new Promise((r) => g.setImmediate?.(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      r();
    };
    ch.port2.postMessage(null);
  });
}
