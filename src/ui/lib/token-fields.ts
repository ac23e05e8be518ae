/**
 * Token-budget settings of the tabs: a whole number the person chose, or null for "each task kind's own budget"
 * (src/core/refine/kinds.ts). Shared by the SELF, SRT, Evaluation and Playground settings.
 */
import { AppError } from '../../core/errors.ts';
import type { BudgetChoice } from '../../core/refine/budgets.ts';
import type { KindRegistry } from '../../core/refine/kinds.ts';

export function intOrKind(v: number | null, tab: string, name: string): void {
  if (v === null) return;
  if (!Number.isInteger(v) || v < 1 || v > 8192) {
    throw new AppError('bad-input', `${tab} setting "${name}" must be a whole number from 1 to 8192, or empty for each task kind's own budget (got ${v}).`);
  }
}

/** What an empty budget field stands for in this experiment: "toy-arith 96, math 256". */
export function kindBudgetHint(kinds: readonly string[], registry: KindRegistry, field: keyof BudgetChoice): string {
  if (kinds.length === 0) return "each task kind's own";
  return kinds
    .map((k) => {
      const g = registry.generation(k);
      const n = field === 'feedbackTokens' ? g.feedbackTokens : g.draftTokens === g.refineTokens ? g.draftTokens : `${g.draftTokens}/${g.refineTokens}`;
      return `${k} ${n}`;
    })
    .join(', ');
}
