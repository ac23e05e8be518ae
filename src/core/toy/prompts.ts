/**
 * The conversations the toy model sees. Each step is a short chat built from the question, the latest
 * answer and its feedback only (never the whole history), so every prompt stays well inside the model's
 * 256-token context however many refinement rounds a loop runs.
 *
 *   draft:    user "347 + 285"                                           → assistant "622"
 *   feedback: user q, assistant answer, user TOY_CHECK                   → assistant feedback (feedback.ts)
 *   refine:   user q, assistant answer, user TOY_CHECK, assistant fb,
 *             user TOY_FIX                                             → assistant "632"
 *
 * A refinement is only the number, like a draft, so it is graded the same way and can be the "answer" of
 * the next feedback step.
 */
import type { ChatMessage } from '../text/types.ts';

export const TOY_CHECK = 'Check it column by column.';
export const TOY_FIX = 'Write the corrected answer.';

/** Model output goes back into prompts trimmed, as the model saw such turns in training. */
function clean(text: string): string {
  return text.trim();
}

export const toyPrompts = {
  draft(question: string): ChatMessage[] {
    return [{ role: 'user', content: clean(question) }];
  },
  feedback(question: string, answer: string): ChatMessage[] {
    return [
      { role: 'user', content: clean(question) },
      { role: 'assistant', content: clean(answer) },
      { role: 'user', content: TOY_CHECK },
    ];
  },
  refine(question: string, answer: string, feedback: string): ChatMessage[] {
    return [...toyPrompts.feedback(question, answer), { role: 'assistant', content: clean(feedback) }, { role: 'user', content: TOY_FIX }];
  },
};

/** The whole meta-skill conversation: question, draft, check request, feedback, fix request, refinement. */
export function toyConversation(question: string, draft: string, feedback: string, refinement: string): ChatMessage[] {
  return [...toyPrompts.refine(question, draft, feedback), { role: 'assistant', content: clean(refinement) }];
}
