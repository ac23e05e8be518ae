/**
 * When a SELF run has nothing to show for it: rounds ran, but no round kept a loop to train on; or, for a run
 * that only evaluates (no round), every held-out answer was cut off by the token limit. The run then ends
 * 'empty' with the reason and what to change, never as a plain success. (A run that trained is not empty; its
 * round table shows the answers the limit cut off.)
 */
import type { KindRegistry } from '../../core/refine/kinds.ts';
import type { SelfResult } from '../../core/refine/self-rounds.ts';
import { sumTallies } from '../../core/refine/budgets.ts';
import { cutOffAdvice, cutOffSentence, raiseTokensAdvice } from '../lib/cut-off.ts';
import type { SelfRunConfig } from './self-runner.ts';

function filterWords(f: SelfRunConfig['settings']['filter']): string {
  const parts = [
    f.requireVerdictCorrect ? 'its final feedback says "correct"' : '',
    f.requireImproved ? 'its score improved' : '',
    f.requireOraclePass ? 'the checker passes it' : '',
    f.minFinalScore !== null ? `its final score is at least ${f.minFinalScore}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `a loop is kept when ${parts.join(' and ')}` : 'every finished loop is kept';
}

export function selfEmptyReason(r: Pick<SelfResult, 'history'>, config: Pick<SelfRunConfig, 'settings' | 'budgets'>, registry?: KindRegistry): string | null {
  const s = config.settings;
  const rounds = r.history.filter((m) => m.round > 0);
  if (rounds.length > 0 && rounds.every((m) => !m.train || m.train.skipped)) {
    const what = rounds.map((m) => `round ${m.round} kept ${m.collect?.kept ?? 0} of ${m.collect?.loops ?? 0} loops`).join(', ');
    const cut = sumTallies(rounds.map((m) => m.collect?.cutOff));
    const change =
      cutOffAdvice(cut, { answer: ['Answer tokens', s.answerTokens], feedback: ['Feedback tokens', s.feedbackTokens] }, config.budgets, registry) ??
      `Loosen the filter (${filterWords(s.filter)}), or start from a stronger model or adapter.`;
    return `Finished with nothing to train: ${what}, so no adapter was trained (${filterWords(s.filter)}).${cutOffSentence(cut)} ${change}`;
  }
  const evaluated = r.history.filter((m) => m.evalTasks > 0);
  if (rounds.length === 0 && evaluated.length > 0 && evaluated.every((m) => m.cutOff?.direct === m.evalTasks)) {
    return `Every held-out answer was cut off by the token limit, so the accuracies measure the limit, not the model. ${raiseTokensAdvice('Answer tokens', s.answerTokens, config.budgets, 'draft', registry)}`;
  }
  return null;
}
