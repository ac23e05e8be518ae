/** Our chat parameters as a web-llm (OpenAI-style) streaming request, and web-llm's usage as our Usage. */
import type { ChatCompletionRequestStreaming, CompletionUsage } from '@mlc-ai/web-llm';
import type { FinishReason, Usage } from '../types.ts';
import type { WebLlmChatParams } from './api.ts';

/**
 * web-llm has no top-k sampling, so `topK` is not sent (it samples with top-p); every other setting maps
 * one to one. Usage is always requested: it carries prefill/decode tokens per second.
 */
export function toWebLlmRequest(p: WebLlmChatParams): ChatCompletionRequestStreaming {
  const req: ChatCompletionRequestStreaming = {
    messages: p.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (p.maxTokens !== undefined) req.max_tokens = p.maxTokens;
  if (p.temperature !== undefined) req.temperature = p.temperature;
  if (p.topP !== undefined) req.top_p = p.topP;
  if (p.repetitionPenalty !== undefined) req.repetition_penalty = p.repetitionPenalty;
  if (p.seed !== undefined) req.seed = p.seed;
  if (p.stop !== undefined && p.stop.length > 0) req.stop = p.stop;
  if (p.enableThinking !== undefined) req.extra_body = { enable_thinking: p.enableThinking };
  return req;
}

export function toFinishReason(r: string | null | undefined): FinishReason {
  if (r === 'length') return 'length';
  if (r === 'abort') return 'abort';
  return 'stop';
}

/** Usage from web-llm's final chunk; `measuredMs` is used when web-llm sent none (an interrupted stream). */
export function fromWebLlmUsage(u: CompletionUsage | undefined | null, measuredMs: number, chunks: number): Usage {
  if (!u) {
    return {
      promptTokens: 0,
      completionTokens: chunks,
      prefillTokensPerSec: 0,
      decodeTokensPerSec: 0,
      totalMs: measuredMs,
      approximate: true,
    };
  }
  const extra = u.extra;
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    prefillTokensPerSec: extra?.prefill_tokens_per_s ?? 0,
    decodeTokensPerSec: extra?.decode_tokens_per_s ?? 0,
    totalMs: extra?.e2e_latency_s !== undefined ? extra.e2e_latency_s * 1000 : measuredMs,
  };
}
