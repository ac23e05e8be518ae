import { AppError } from '../errors.ts';
import type { OracleMode } from './oracle.ts';
import type { StepRecord } from './types.ts';

/**
 * The Self-Refine loop as a pure state machine over stored steps: given the steps of one loop so far, what
 * comes next. A fresh run and a resumed run both ask this function, so resuming from the stored steps
 * continues exactly where an uninterrupted run would have gone.
 *
 * Per round r (0 = the draft): answer (draft or refinement) → model feedback (unless the oracle replaces it)
 * → oracle check (when on) → a stop rule, or refinement r+1.
 *
 * Stop rules, checked after each round's feedback, in this order:
 *  - 'unchanged': a refinement equal to the previous answer (whitespace-normalised) stops at once, before
 *    feedback (when stopOnUnchanged);
 *  - with the oracle on, only the oracle decides correctness: 'oracle-pass' when it passes; the model's
 *    "no issues" or score then do not stop the loop;
 *  - 'feedback-unparsable': unparsable feedback counts as "needs work, no score"; after `maxUnparsedInRow`
 *    (default 2) unparsable feedbacks in a row the loop stops, since more rounds would only repeat it;
 *  - 'no-issues': the feedback says nothing needs fixing (when stopOnNoIssues);
 *  - 'score-threshold': the feedback's score ≥ scoreThreshold (when set);
 *  - 'max-rounds': round r = maxRounds (the last refinement still gets its feedback, so its score is known).
 */
export interface StopRules {
  /** Refinements after the draft; 0 = draft and its feedback only. */
  maxRounds: number;
  /** Stop when a feedback's score reaches this (1–10), or null for no threshold. */
  scoreThreshold: number | null;
  stopOnNoIssues: boolean;
  stopOnUnchanged: boolean;
  /** Unparsable feedbacks in a row that stop the loop. Default 2. */
  maxUnparsedInRow?: number;
}

export const DEFAULT_STOP_RULES: StopRules = {
  maxRounds: 3,
  scoreThreshold: 9,
  stopOnNoIssues: true,
  stopOnUnchanged: true,
  maxUnparsedInRow: 2,
};

export type StopReason = 'no-issues' | 'score-threshold' | 'max-rounds' | 'unchanged' | 'feedback-unparsable' | 'oracle-pass';

export const STOP_REASON_TEXT: Readonly<Record<StopReason, string>> = {
  'no-issues': 'The feedback found nothing to fix.',
  'score-threshold': 'The score reached the threshold.',
  'max-rounds': 'The round limit was reached.',
  unchanged: 'The refinement no longer changed the answer.',
  'feedback-unparsable': 'The feedback could not be read twice in a row.',
  'oracle-pass': 'The automatic check passed.',
};

export type NextAction =
  | { type: 'answer'; kind: 'draft' | 'refinement'; refineRound: number }
  | { type: 'feedback'; refineRound: number }
  | { type: 'oracle'; refineRound: number }
  | { type: 'stop'; reason: StopReason };

export interface PlanConfig {
  stop: StopRules;
  /** 'off' when the task has no checker. */
  oracle: OracleMode;
}

export function validateStopRules(s: StopRules): void {
  if (!Number.isInteger(s.maxRounds) || s.maxRounds < 0 || s.maxRounds > 50) {
    throw new AppError('bad-input', `The round limit must be a whole number from 0 to 50 (got ${s.maxRounds}).`);
  }
  if (s.scoreThreshold !== null && !(s.scoreThreshold >= 1 && s.scoreThreshold <= 10)) {
    throw new AppError('bad-input', `The score threshold must be between 1 and 10, or off (got ${s.scoreThreshold}).`);
  }
  const u = s.maxUnparsedInRow ?? 2;
  if (!Number.isInteger(u) || u < 1) {
    throw new AppError('bad-input', `maxUnparsedInRow must be a whole number ≥ 1 (got ${u}).`);
  }
}

const LOOP_KINDS = new Set(['draft', 'feedback', 'refinement', 'oracle']);

/** Steps that belong to the loop itself (evaluation rows are not part of it). */
export function loopSteps(steps: readonly StepRecord[]): StepRecord[] {
  return steps.filter((s) => LOOP_KINDS.has(s.kind));
}

export function sameAnswer(a: string, b: string): boolean {
  return a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
}

function afterRound(prefix: readonly StepRecord[], r: number, cfg: PlanConfig): NextAction {
  const { stop } = cfg;
  const inRound = prefix.filter((s) => s.refineRound === r);
  if (cfg.oracle !== 'off') {
    const o = inRound.find((s) => s.kind === 'oracle');
    if (o?.feedback?.verdict === 'correct') return { type: 'stop', reason: 'oracle-pass' };
  } else {
    const feedbacks = prefix.filter((s) => s.kind === 'feedback');
    let unparsedRun = 0;
    for (let i = feedbacks.length - 1; i >= 0 && feedbacks[i].parseStatus === 'unparsed'; i--) unparsedRun++;
    if (unparsedRun >= (stop.maxUnparsedInRow ?? 2)) return { type: 'stop', reason: 'feedback-unparsable' };
    const fb = inRound.find((s) => s.kind === 'feedback')?.feedback ?? null;
    if (fb && stop.stopOnNoIssues && fb.noIssues) return { type: 'stop', reason: 'no-issues' };
    if (fb && stop.scoreThreshold !== null && fb.score !== null && fb.score >= stop.scoreThreshold) {
      return { type: 'stop', reason: 'score-threshold' };
    }
  }
  if (r >= stop.maxRounds) return { type: 'stop', reason: 'max-rounds' };
  return { type: 'answer', kind: 'refinement', refineRound: r + 1 };
}

function decide(prefix: readonly StepRecord[], cfg: PlanConfig): NextAction {
  if (prefix.length === 0) return { type: 'answer', kind: 'draft', refineRound: 0 };
  const last = prefix[prefix.length - 1];
  const r = last.refineRound;
  if (last.kind === 'draft' || last.kind === 'refinement') {
    if (r > 0 && cfg.stop.stopOnUnchanged) {
      const prev = [...prefix].reverse().find((s) => (s.kind === 'draft' || s.kind === 'refinement') && s.refineRound === r - 1);
      if (prev && sameAnswer(prev.text, last.text)) return { type: 'stop', reason: 'unchanged' };
    }
    return cfg.oracle === 'replace' ? { type: 'oracle', refineRound: r } : { type: 'feedback', refineRound: r };
  }
  if (last.kind === 'feedback' && cfg.oracle !== 'off') return { type: 'oracle', refineRound: r };
  return afterRound(prefix, r, cfg);
}

function matches(step: StepRecord, a: NextAction): boolean {
  switch (a.type) {
    case 'answer':
      return step.kind === a.kind && step.refineRound === a.refineRound;
    case 'feedback':
      return step.kind === 'feedback' && step.refineRound === a.refineRound;
    case 'oracle':
      return step.kind === 'oracle' && step.refineRound === a.refineRound;
    case 'stop':
      return false;
  }
}

function describe(a: NextAction): string {
  return a.type === 'stop' ? `the end (${a.reason})` : `${a.type === 'answer' ? a.kind : a.type} of round ${a.refineRound}`;
}

/**
 * The next action for a loop whose stored steps are `steps` (in the order they were written). Throws
 * AppError('bad-input') when the stored steps do not form a valid run under this configuration (e.g. the
 * settings changed between the interrupted run and the resume).
 */
export function planNext(steps: readonly StepRecord[], cfg: PlanConfig): NextAction {
  const own = loopSteps(steps);
  for (let i = 0; ; i++) {
    const action = decide(own.slice(0, i), cfg);
    if (i === own.length) return action;
    if (!matches(own[i], action)) {
      throw new AppError(
        'bad-input',
        `The stored steps of loop ${own[i].loopId} do not fit these settings: step ${i + 1} is the ` +
          `${own[i].kind} of round ${own[i].refineRound}, but ${describe(action)} was expected. ` +
          'Resume with the settings the run started with, or start a new run.',
      );
    }
  }
}
