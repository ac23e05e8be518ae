/**
 * What a result card says about the settings a run used, read from its stored config (untrusted JSON): the
 * token budgets per task kind (runs stored before those: the one limit its settings held), and a few counts.
 * So a run cut off at 12 tokens never looks like one that had 96.
 */
import { describeBudgets, parseBudgets } from '../../core/refine/budgets.ts';
import type { JsonObject } from '../../db/types.ts';
import { obj } from './stored-json.ts';

const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** "toy-arith: answers ≤ 96 tokens, feedback ≤ 176" per kind, or the legacy single limits. */
export function budgetText(config: JsonObject): string {
  const lines = describeBudgets(parseBudgets(config.budgets));
  if (lines.length > 0) return lines.join('; ');
  const s = obj(config.settings) ?? {};
  const p = obj(config.params) ?? {};
  const answers = n(s.answerTokens) ?? n(p.maxTokens);
  const feedback = n(s.feedbackTokens) ?? n(p.maxTokens);
  return answers === null && feedback === null ? 'token limits not recorded' : `answers ≤ ${answers ?? '?'} tokens, feedback ≤ ${feedback ?? '?'}`;
}

/** "200 held-out prompts" (0 = all). */
export function countText(v: unknown, what: string): string {
  const c = n(v);
  return c === null ? '' : c === 0 ? `all ${what}` : `${c} ${what}`;
}
