/**
 * What an engine returns when a reply is cut short by its AbortSignal after generation began: the text
 * streamed so far with finishReason 'abort' (the same contract as the scripted engine). A signal that has
 * already fired when chat() is called rejects with AppError('aborted') instead.
 */
import type { ChatResult } from './types.ts';

/** `pieces` = streamed deltas (about one token each); token counts are estimates, flagged `approximate`. */
export function abortedResult(text: string, pieces: number, elapsedMs: number): ChatResult {
  return {
    text,
    finishReason: 'abort',
    usage: {
      promptTokens: 0,
      completionTokens: pieces,
      prefillTokensPerSec: 0,
      decodeTokensPerSec: elapsedMs > 0 ? (pieces * 1000) / elapsedMs : 0,
      totalMs: elapsedMs,
      approximate: true,
    },
  };
}
