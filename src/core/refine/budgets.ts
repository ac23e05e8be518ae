import type { GenerationParams } from '../engine/types.ts';
import type { Task, TaskKind } from '../tasks/types.ts';
import { kindRegistry, type KindGeneration, type KindRegistry } from './kinds.ts';
import type { StepRecord } from './types.ts';

/**
 * Token budgets and stop strings per task kind, as a run uses them. A tab's settings hold a number only where
 * the person chose one; `null` means "the kind's own budget" (kinds.ts, KindGeneration). A run resolves them
 * once per kind of its tasks (`budgetsByKind`), stores that table in its config (so its result card shows what
 * it used, and a resume uses the same), and answers every task with its own kind's row (`stepParams`).
 */
export interface BudgetChoice {
  /** Drafts and refinements (null = each kind's own). */
  answerTokens: number | null;
  /** Feedback (null = each kind's own). */
  feedbackTokens: number | null;
}

/** What one kind's tasks ran with. */
export interface StepBudget {
  draft: number;
  feedback: number;
  refine: number;
  stop: string[];
}

export const KIND_DEFAULT: BudgetChoice = { answerTokens: null, feedbackTokens: null };

export function resolveBudget(g: KindGeneration, choice: BudgetChoice): StepBudget {
  return {
    draft: choice.answerTokens ?? g.draftTokens,
    feedback: choice.feedbackTokens ?? g.feedbackTokens,
    refine: choice.answerTokens ?? g.refineTokens,
    stop: [...g.stop],
  };
}

/** The budgets of each kind among `kinds`, under the choice. */
export function budgetsByKind(kinds: Iterable<TaskKind>, choice: BudgetChoice, registry: KindRegistry = kindRegistry): Record<string, StepBudget> {
  const out: Record<string, StepBudget> = {};
  for (const k of kinds) out[k] ??= resolveBudget(registry.generation(k), choice);
  return out;
}

/** GenerationParams for one step, or a choice per task (mixed task kinds). */
export type TaskParams = GenerationParams | ((task: Task) => GenerationParams);

export function paramsFor(p: TaskParams | undefined, task: Task): GenerationParams {
  return typeof p === 'function' ? p(task) : (p ?? {});
}

export interface StepParams {
  draft: (task: Task) => GenerationParams;
  feedback: (task: Task) => GenerationParams;
  refine: (task: Task) => GenerationParams;
}

/**
 * Per-task params of each step: `base` (temperature, seed …) with the task kind's budget from the table. A kind
 * missing from the table (a run stored before budgets were) gets its registry budget under `fallback`.
 */
export function stepParams(
  base: GenerationParams,
  budgets: Readonly<Record<string, StepBudget>>,
  fallback: BudgetChoice = KIND_DEFAULT,
  registry: KindRegistry = kindRegistry,
): StepParams {
  const row = (task: Task) => budgets[task.kind] ?? resolveBudget(registry.generation(task.kind), fallback);
  const make = (step: 'draft' | 'feedback' | 'refine') => (task: Task): GenerationParams => {
    const b = row(task);
    return { ...base, maxTokens: b[step], ...(b.stop.length > 0 ? { stop: [...b.stop] } : {}) };
  };
  return { draft: make('draft'), feedback: make('feedback'), refine: make('refine') };
}

/** One line per kind for a result card: "toy-arith: answers ≤ 96 tokens, feedback ≤ 176". */
export function describeBudgets(budgets: Readonly<Record<string, StepBudget>>): string[] {
  return Object.entries(budgets).map(([kind, b]) => {
    const answers = b.draft === b.refine ? `answers ≤ ${b.draft} tokens` : `drafts ≤ ${b.draft} tokens, refinements ≤ ${b.refine}`;
    const stop = b.stop.length > 0 ? `, stop at ${b.stop.map((x) => JSON.stringify(x)).join(' or ')}` : '';
    return `${kind}: ${answers}, feedback ≤ ${b.feedback}${stop}`;
  });
}

/** A stored budgets table read back (untrusted JSON); entries that do not fit are left out. */
export function parseBudgets(v: unknown): Record<string, StepBudget> {
  const out: Record<string, StepBudget> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  const int = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 8192;
  for (const [kind, b] of Object.entries(v as Record<string, unknown>)) {
    const o = b as Partial<Record<keyof StepBudget, unknown>> | null;
    if (!o || typeof o !== 'object' || !int(o.draft) || !int(o.feedback) || !int(o.refine)) continue;
    const stop = Array.isArray(o.stop) ? o.stop.filter((x): x is string => typeof x === 'string' && x !== '') : [];
    out[kind] = { draft: o.draft as number, feedback: o.feedback as number, refine: o.refine as number, stop };
  }
  return out;
}

/** Answers (drafts, refinements) and feedback among some steps, and how many of each the token limit cut off. */
export interface CutOffTally {
  answers: number;
  answersCut: number;
  feedback: number;
  feedbackCut: number;
}

/** Several tallies added up (absent ones count as zero). */
export function sumTallies(ts: readonly (CutOffTally | undefined)[]): CutOffTally {
  const t: CutOffTally = { answers: 0, answersCut: 0, feedback: 0, feedbackCut: 0 };
  for (const x of ts) {
    if (!x) continue;
    t.answers += x.answers;
    t.answersCut += x.answersCut;
    t.feedback += x.feedback;
    t.feedbackCut += x.feedbackCut;
  }
  return t;
}

export function cutOffTally(steps: readonly StepRecord[]): CutOffTally {
  const t: CutOffTally = { answers: 0, answersCut: 0, feedback: 0, feedbackCut: 0 };
  for (const s of steps) {
    const cut = s.finishReason === 'length' ? 1 : 0;
    if (s.kind === 'draft' || s.kind === 'refinement') {
      t.answers++;
      t.answersCut += cut;
    } else if (s.kind === 'feedback') {
      t.feedback++;
      t.feedbackCut += cut;
    }
  }
  return t;
}
