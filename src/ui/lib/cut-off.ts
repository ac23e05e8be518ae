/**
 * How runs talk about answers the token limit cut off: the counts, and what to change (the field to raise, to
 * what the task kind needs). Used by the Evaluation, SELF and SRT outcomes and result cards.
 */
import type { CutOffTally, StepBudget } from '../../core/refine/budgets.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';

/** "12 of 200 direct answers" (empty when nothing was counted; `onlyIfCut`: also when none was cut). */
export function cutOffCount(cut: number | undefined, of: number | undefined, what: string, onlyIfCut = false): string {
  if (!of || cut === undefined || (onlyIfCut && cut === 0)) return '';
  return `${cut} of ${of} ${what}`;
}

/** " The token limit cut off 16 of 16 answers and 3 of 16 feedbacks." ('' when it cut nothing). */
export function cutOffSentence(t: CutOffTally | undefined, feedbackWord = 'feedbacks'): string {
  const parts = [cutOffCount(t?.answersCut, t?.answers, 'answers', true), cutOffCount(t?.feedbackCut, t?.feedback, feedbackWord, true)].filter(Boolean);
  return parts.length > 0 ? ` The token limit cut off ${parts.join(' and ')}.` : '';
}

/** When the limit cut off most answers (or most feedback): raise that field. Null when it did not. */
export function cutOffAdvice(
  t: CutOffTally | undefined,
  fields: { answer: [label: string, chosen: number | null]; feedback: [label: string, chosen: number | null] },
  budgets: Readonly<Record<string, StepBudget>>,
  registry?: KindRegistry,
): string | null {
  if (t && t.answersCut > t.answers / 2) return raiseTokensAdvice(fields.answer[0], fields.answer[1], budgets, 'draft', registry);
  if (t && t.feedbackCut > t.feedback / 2) return raiseTokensAdvice(fields.feedback[0], fields.feedback[1], budgets, 'feedback', registry);
  return null;
}

/** The budgets a run used, short: "toy-arith 12" (answers) or "toy-arith 176" (feedback). */
function used(budgets: Readonly<Record<string, StepBudget>>, step: 'draft' | 'feedback'): string {
  return Object.entries(budgets).map(([k, b]) => `${k} ${b[step]}`).join(', ');
}

/**
 * What to change when the token limit cut answers (step 'draft') or feedback off: raise the named field to at
 * least each kind's own budget, or clear it to use them; if the kind's own budget was used, raise it above.
 */
export function raiseTokensAdvice(
  field: string,
  chosen: number | null,
  budgets: Readonly<Record<string, StepBudget>>,
  step: 'draft' | 'feedback',
  registry: KindRegistry = kindRegistry,
): string {
  const kinds = Object.keys(budgets);
  const own = kinds.map((k) => {
    const g = registry.generation(k);
    return `${k} ${step === 'draft' ? Math.max(g.draftTokens, g.refineTokens) : g.feedbackTokens}`;
  });
  if (chosen !== null) {
    return `Raise "${field}" (it was ${chosen}) to what the task kind needs (${own.join(', ')}), or clear the field to use each kind's own budget.`;
  }
  return `The kind's own budget (${used(budgets, step)}) was too small for these answers: set "${field}" higher.`;
}
