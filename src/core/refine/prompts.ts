import type { ChatMessage } from '../text/types.ts';
import { renderTemplate } from './template-render.ts';
import type { PromptTemplates } from './templates.ts';

/** Building the exact messages sent to an engine for each kind of call, from the templates. */

/** One earlier attempt as the refine prompt shows it. */
export interface Attempt {
  answer: string;
  /** The feedback it got, already written out as text (see feedbackText in loop-state.ts). */
  feedback: string;
}

/** Longest piece of model text quoted back into a prompt; longer text is cut with a note. */
export const MAX_QUOTED_CHARS = 4000;

export function clip(text: string, max = MAX_QUOTED_CHARS): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max)}\n[… ${t.length - max} more characters cut]`;
}

function withSystem(t: PromptTemplates, user: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (t.system.trim() !== '') out.push({ role: 'system', content: t.system });
  out.push({ role: 'user', content: user });
  return out;
}

export function draftMessages(t: PromptTemplates, prompt: string): ChatMessage[] {
  return withSystem(t, renderTemplate(t.draft, { prompt }));
}

export function feedbackMessages(t: PromptTemplates, prompt: string, answer: string): ChatMessage[] {
  return withSystem(t, renderTemplate(t.feedback, { prompt, answer: clip(answer) }));
}

/**
 * The refine prompt carries the history of earlier attempts and their feedback (Self-Refine). `attempts` is
 * every attempt so far, oldest first; `historyLimit` keeps only the most recent ones (small context windows).
 */
export function refineMessages(
  t: PromptTemplates,
  prompt: string,
  attempts: readonly Attempt[],
  historyLimit = Infinity,
): ChatMessage[] {
  const first = Math.max(0, attempts.length - Math.max(1, historyLimit));
  const history = attempts
    .slice(first)
    .map((a, i) =>
      renderTemplate(t.historyEntry, { n: first + i + 1, answer: clip(a.answer), feedback: clip(a.feedback) }),
    )
    .join('\n\n');
  const last = attempts[attempts.length - 1];
  return withSystem(
    t,
    renderTemplate(t.refine, {
      prompt,
      history,
      answer: clip(last?.answer ?? ''),
      feedback: clip(last?.feedback ?? ''),
      attempt: attempts.length + 1,
    }),
  );
}

/** Meta-skill training pair (SELF/SRT): prompt + draft → feedback then refinement. */
export function metaSkillMessages(
  t: PromptTemplates,
  prompt: string,
  draft: string,
  feedback: string,
  refinement: string,
): { prompt: ChatMessage[]; completion: ChatMessage[] } {
  return {
    prompt: withSystem(t, renderTemplate(t.metaPrompt, { prompt, answer: draft.trim() })),
    completion: [
      { role: 'assistant', content: renderTemplate(t.metaCompletion, { feedback: feedback.trim(), refinement: refinement.trim() }) },
    ],
  };
}
