/**
 * When an evaluation has nothing to show: every checked answer was cut off by the token limit, so its
 * accuracies measure the limit, not the model. The run then ends 'empty' with this reason.
 */
import type { StepBudget } from '../../core/refine/budgets.ts';
import type { KindRegistry } from '../../core/refine/kinds.ts';
import type { RunMetricPoint } from '../../db/types.ts';
import { raiseTokensAdvice } from '../lib/cut-off.ts';
import type { EvalSettings } from '../evaluation/eval-settings.ts';

export function evalEmptyReason(points: readonly RunMetricPoint[], budgets: Readonly<Record<string, StepBudget>>, s: Pick<EvalSettings, 'answerTokens'>, registry?: KindRegistry): string | null {
  const checked = points.filter((p) => p.evalTasks > 0);
  if (checked.length === 0 || !checked.every((p) => p.directCutOff === p.evalTasks)) return null;
  const n = checked.reduce((a, p) => a + p.evalTasks, 0);
  return (
    `Every answer was cut off by the token limit (all ${n} direct answers), so these accuracies measure the limit, not the model. ` +
    raiseTokensAdvice('Answer tokens', s.answerTokens, budgets, 'draft', registry)
  );
}
