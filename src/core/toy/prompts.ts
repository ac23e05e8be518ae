/**
 * The messages the toy model sees at each step: one user message each, no system message (every token
 * counts in a 256-token context). Each prompt is built from the question, the latest answer and its
 * feedback only, so prompts stay short however many refinement rounds a loop runs.
 *
 *   draft:    "347 + 285"                                         → a working ending "so 622" (working.ts)
 *   feedback: "347 + 285\n<the draft's critic view>\nCheck it column by column."  → the column check (feedback.ts)
 *   refine:   "347 + 285\n<the draft>\n<feedback>\nWrite the corrected answer." → the corrected working
 *
 * The feedback prompt shows only the number the draft states, digit by place ("answer: ones 2, tens 2,
 * hundreds 6", stated-answer.ts), never its working. The refine prompt shows the whole draft.
 *
 * A refinement has the same form as a draft, so it is graded the same way and can be the answer of the next
 * feedback step. TOY_TEMPLATE_TEXT writes the same prompts as `{placeholder}` templates (the form the
 * refine loop's template registry uses); a test checks that both give identical text.
 */
import type { ChatMessage } from '../text/types.ts';
import { toyCriticView } from './stated-answer.ts';

export const TOY_CHECK = 'Check it column by column.';
export const TOY_FIX = 'Write the corrected answer.';

/**
 * The same prompts as templates: {prompt} = the question, {answer} = the answer under review (in the feedback
 * template, its critic view: the toy kind's reviewView), {feedback}.
 */
export const TOY_TEMPLATE_TEXT = {
  system: '',
  draft: '{prompt}',
  feedback: `{prompt}\n{answer}\n${TOY_CHECK}`,
  refine: `{prompt}\n{answer}\n{feedback}\n${TOY_FIX}`,
} as const;

/** Model output goes back into prompts trimmed, as in training. */
function clean(text: string): string {
  return text.trim();
}

export const toyPrompts = {
  draft(question: string): ChatMessage[] {
    return [{ role: 'user', content: clean(question) }];
  },
  feedback(question: string, answer: string): ChatMessage[] {
    return [{ role: 'user', content: `${clean(question)}\n${toyCriticView(answer)}\n${TOY_CHECK}` }];
  },
  refine(question: string, answer: string, feedback: string): ChatMessage[] {
    return [{ role: 'user', content: `${clean(question)}\n${clean(answer)}\n${clean(feedback)}\n${TOY_FIX}` }];
  },
};

/** A training chat: the step's prompt followed by the assistant's target. */
export function withAnswer(prompt: ChatMessage[], target: string): ChatMessage[] {
  return [...prompt, { role: 'assistant', content: clean(target) }];
}
