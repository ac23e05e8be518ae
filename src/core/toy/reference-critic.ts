/**
 * The reference critic: the toy world's program annotator (the same `writeToyFeedback` and right working that
 * wrote the meta-skill corpus) behind the ChatEngine interface, so SRT can use it as its strong critic. It is
 * NOT a model, and says so in its id and label: it reads the question from the prompt and computes the answer.
 * It answers only the toy feedback prompt (a column check of the answer in the prompt) and the toy refine
 * prompt (the right working); anything else is refused. Why a program rather than a larger toy model: see
 * README.md ("SRT in the toy world").
 */
import { CHAT_ONLY } from '../engine/capabilities.ts';
import type { ChatEngine, ChatRequest, ChatResult, LoadProgress } from '../engine/types.ts';
import { AppError, throwIfAborted } from '../errors.ts';
import { rightDraft } from './drafter.ts';
import { writeToyFeedback } from './feedback.ts';
import { TOY_CHECK, TOY_FIX } from './prompts.ts';
import { tryParseToyQuestion } from './question.ts';

export const REFERENCE_CRITIC_ID = 'toy-reference-critic';
export const REFERENCE_CRITIC_LABEL = 'Reference critic (the toy world\'s program annotator, not a model)';

/** The reply the annotator writes to one toy feedback or refine prompt. */
export function referenceReply(messages: ChatRequest['messages']): string {
  const user = [...messages].reverse().find((m) => m.role === 'user')?.content.trim() ?? '';
  const lines = user.split('\n');
  const q = tryParseToyQuestion(lines[0] ?? '');
  const last = lines[lines.length - 1];
  if (!q || lines.length < 3 || (last !== TOY_CHECK && last !== TOY_FIX)) {
    throw new AppError('bad-input', 'The reference critic only checks and corrects answers to toy arithmetic questions (the toy feedback and refine prompts). Use a model for anything else.');
  }
  if (last === TOY_FIX) return rightDraft(q).text;
  return writeToyFeedback(q, lines.slice(1, -1).join('\n'));
}

export class ReferenceCritic implements ChatEngine {
  readonly kind = 'reference' as const;
  readonly capabilities = CHAT_ONLY;
  modelId: string | null = null;

  async load(modelId: string, options?: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal }): Promise<void> {
    throwIfAborted(options?.signal);
    if (modelId !== REFERENCE_CRITIC_ID) throw new AppError('bad-input', `The reference critic is "${REFERENCE_CRITIC_ID}", not "${modelId}".`);
    options?.onProgress?.({ phase: 'weights', fraction: 1, text: `${REFERENCE_CRITIC_LABEL}: ready (nothing to download).` });
    this.modelId = modelId;
  }

  async unload(): Promise<void> {
    this.modelId = null;
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    throwIfAborted(request.signal);
    if (this.modelId === null) throw new AppError('bad-input', 'Load the reference critic first.');
    const t0 = performance.now();
    const text = referenceReply(request.messages);
    request.onToken?.(text);
    const count = (s: string) => (s.match(/\S+/g) ?? []).length;
    return {
      text,
      finishReason: 'stop',
      usage: {
        promptTokens: count(request.messages.map((m) => m.content).join('\n')),
        completionTokens: count(text),
        prefillTokensPerSec: 0,
        decodeTokensPerSec: 0,
        totalMs: performance.now() - t0,
        approximate: true,
      },
    };
  }

  async chatBatch(requests: ChatRequest[]): Promise<ChatResult[]> {
    const out: ChatResult[] = [];
    for (const r of requests) out.push(await this.chat(r));
    return out;
  }
}
