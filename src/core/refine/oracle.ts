import type { CheckResult } from '../tasks/types.ts';
import type { ParsedFeedback } from './types.ts';

/**
 * The oracle: a feedback source that is the program's own checker, not a model. Its steps are labelled
 * (kind 'oracle', source 'oracle', engine 'oracle') and its text says it is an automatic check. It never
 * reveals the expected answer, only whether the answer passes and what is wrong.
 */
export type OracleMode = 'off' | 'accompany' | 'replace';

export const ORACLE_MODEL_ID = 'checker';

/** The checker's result as structured feedback. Score: 10 on a pass, else 1–10 by the share of checks passed. */
export function oracleFeedback(r: CheckResult): ParsedFeedback {
  return {
    weaknesses: [...r.failures],
    suggestions: [],
    score: r.pass ? 10 : Math.round((1 + 9 * Math.min(1, Math.max(0, r.fraction))) * 10) / 10,
    verdict: r.pass ? 'correct' : 'incorrect',
    noIssues: r.pass,
  };
}

/** The text stored for an oracle step and quoted in refine prompts. */
export function oracleText(r: CheckResult): string {
  return `Automatic check (by the program, not a model): ${r.pass ? 'PASS' : 'FAIL'}. ${r.message}`;
}

export function normalizeOracleMode(oracle: boolean | OracleMode | undefined): OracleMode {
  if (oracle === true) return 'accompany';
  if (oracle === false || oracle === undefined) return 'off';
  return oracle;
}
