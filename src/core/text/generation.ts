/** The vocabulary of generation shared by the model's own generator and every engine (src/core/engine). */

/** Sampling and stopping settings shared by every engine. Unset fields take the engine's defaults. */
export interface GenerationParams {
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  /** Makes sampling reproducible where the engine supports it. */
  seed?: number;
  /** Generation stops before any of these strings; the string itself is not returned. */
  stop?: string[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens per second during prefill. */
  prefillTokensPerSec: number;
  /** Generated tokens per second during decode. */
  decodeTokensPerSec: number;
  totalMs: number;
  /** True when the engine reported no token counts and they were estimated (e.g. one token per streamed chunk). */
  approximate?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'abort';
