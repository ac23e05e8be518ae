/**
 * A loop's steps arranged for reading: one row per round (the answer, its word diff against the previous
 * answer, the model's feedback and the oracle's check), and why the loop stopped. Pure functions over
 * StepRecords, used for the live run and for replaying a stored one.
 */
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { planNext, STOP_REASON_TEXT, type StopReason } from '../../core/refine/plan.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import { diffStats, diffWords, type DiffPart } from '../../core/text/diff.ts';
import type { RefineRunConfig } from './run-config.ts';

export interface RoundView {
  round: number;
  answer: StepRecord | null;
  /** Word diff against the previous round's answer (null for the draft). */
  diff: DiffPart[] | null;
  stats: { inserted: number; deleted: number } | null;
  feedback: StepRecord | null;
  oracle: StepRecord | null;
}

const isAnswer = (s: StepRecord) => s.kind === 'draft' || s.kind === 'refinement';

/** Rounds by steps array: the live view re-renders on every streamed token, with the same steps array. */
const cache = new WeakMap<readonly StepRecord[], RoundView[]>();

/** Rounds in order; every loop step lands in exactly one round. Memoised per (immutable) steps array. */
export function roundsOf(steps: readonly StepRecord[]): RoundView[] {
  let rounds = cache.get(steps);
  if (!rounds) {
    rounds = computeRounds(steps);
    cache.set(steps, rounds);
  }
  return rounds;
}

function computeRounds(steps: readonly StepRecord[]): RoundView[] {
  const byRound = new Map<number, RoundView>();
  const get = (r: number) => {
    let v = byRound.get(r);
    if (!v) {
      v = { round: r, answer: null, diff: null, stats: null, feedback: null, oracle: null };
      byRound.set(r, v);
    }
    return v;
  };
  for (const s of steps) {
    if (isAnswer(s)) get(s.refineRound).answer = s;
    else if (s.kind === 'feedback') get(s.refineRound).feedback = s;
    else if (s.kind === 'oracle') get(s.refineRound).oracle = s;
  }
  const rounds = [...byRound.values()].sort((a, b) => a.round - b.round);
  let previous: StepRecord | null = null;
  for (const r of rounds) {
    if (r.answer && previous) {
      r.diff = diffWords(previous.text, r.answer.text);
      r.stats = diffStats(r.diff);
    }
    if (r.answer) previous = r.answer;
  }
  return rounds;
}

/** Why a stored loop stopped under its run's settings, or null while it is unfinished (or unreadable). */
export function stopReasonOf(
  task: CoreTask,
  steps: readonly StepRecord[],
  config: Pick<RefineRunConfig, 'stop' | 'oracle'>,
  registry: KindRegistry = kindRegistry,
): StopReason | null {
  const oracle = registry.isVerifiable(task) ? config.oracle : 'off';
  try {
    const next = planNext(steps, { stop: config.stop, oracle });
    return next.type === 'stop' ? next.reason : null;
  } catch {
    return null;
  }
}

export function stopReasonText(reason: StopReason): string {
  return STOP_REASON_TEXT[reason];
}

/** "score 7/10 · incorrect", "could not parse", for a feedback or oracle step. */
export function feedbackHeadline(step: StepRecord): string {
  if (step.parseStatus === 'unparsed' || !step.feedback) return 'could not parse';
  const f = step.feedback;
  const parts = [f.score !== null ? `score ${f.score}/10` : 'no score', f.verdict === 'unknown' ? 'no verdict' : f.verdict];
  if (f.noIssues) parts.push('no issues');
  if (step.parseStatus === 'partial') parts.push('partly parsed');
  return parts.join(' · ');
}
