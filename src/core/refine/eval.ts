import type { ChatEngine, ChatResult, GenerationParams } from '../engine/types.ts';
import { throwIfAborted } from '../errors.ts';
import type { Task } from '../tasks/types.ts';
import { paramsFor, type TaskParams } from './budgets.ts';
import { generateMany } from './generate.ts';
import { explainOverflow, longestPrompt } from './overflow.ts';
import { judgePair, winRates, type JudgeTemplate, type PairwiseJudgement, type WinRates } from './judge.ts';
import { kindRegistry, type KindRegistry } from './kinds.ts';
import { runSelfRefineBatch, type LoopResult } from './loop.ts';
import type { StopRules } from './plan.ts';
import { draftMessages } from './prompts.ts';
import { selfFeedbackStats, type SelfFeedbackStats } from './self-feedback.ts';
import type { PromptTemplates } from './templates.ts';
import type { StepRecord } from './types.ts';

/**
 * Evaluation: accuracy on verifiable tasks by their checkers (direct answers, or answers after inference-time
 * self-refinement), pairwise judgement for open-ended tasks, and base vs adapter side by side.
 * Each evaluated answer is also written as an 'evaluation' step (score 1 = pass, 0 = fail).
 */
export interface EvalCommon {
  engine: ChatEngine;
  /** Adapter to answer with, or null for the base model. */
  adapterId: string | null;
  /** Sampling of the answers (drafts, and refinements unless selfRefine.refineParams), or a choice per task. */
  params?: TaskParams;
  templates?: PromptTemplates | ((task: Task) => PromptTemplates);
  registry?: KindRegistry;
  evolutionRound?: number;
  signal?: AbortSignal;
  now?: () => number;
  /** Requests per chatBatch call (engines that batch). */
  batchSize?: number;
}

export interface AccuracyOptions extends EvalCommon {
  tasks: readonly Task[];
  /** Loop id for each task's evaluation (the caller's naming; reused to group the stored steps). */
  loopIdFor: (task: Task) => string;
  /** With settings: answer by self-refinement (no oracle) and check the final answer. */
  selfRefine?: { stop: StopRules; critic?: ChatEngine; feedbackParams?: TaskParams; refineParams?: TaskParams } | null;
  onStep?: (step: StepRecord) => Promise<void>;
  onProgress?: (done: number, total: number) => void;
  /**
   * Steps stored by an interrupted evaluation with the same loop ids: tasks that already have their
   * 'evaluation' step are not answered again, and unfinished self-refine loops resume from their steps.
   */
  resume?: readonly StepRecord[];
}

export interface TaskEval {
  taskId: string;
  answer: string;
  pass: boolean;
  /** The answer was cut off by the token limit. */
  cutOff: boolean;
  /** The loop when answered by self-refinement. */
  loop?: LoopResult;
}

export interface AccuracyReport {
  n: number;
  passed: number;
  /** passed / n, or null when no task could be checked. */
  accuracy: number | null;
  perTask: TaskEval[];
  /** Tasks skipped because they have no checker. */
  skipped: string[];
  /** With `selfRefine`: the model's own verdicts on its drafts against the checker (self-feedback.ts); else null. */
  selfFeedback: SelfFeedbackStats | null;
  /** Of the n answers, those cut off by the token limit. */
  cutOff: number;
  /** Feedback calls of the self-refined answers, and those cut off by the token limit (0, 0 for direct answers). */
  feedback: { n: number; cutOff: number };
}

function templatesFor(o: EvalCommon, task: Task): PromptTemplates {
  const t = o.templates;
  return t === undefined ? (o.registry ?? kindRegistry).templates(task.kind) : typeof t === 'function' ? t(task) : t;
}

function evaluationStep(
  o: EvalCommon,
  task: Task,
  loopId: string,
  answer: { text: string; prompt: StepRecord['prompt']; result: ChatResult | null; refineRound: number; cutOff: boolean },
  pass: boolean,
  startedAt: number,
  durationMs: number,
): StepRecord {
  const u = answer.result?.usage;
  return {
    kind: 'evaluation',
    taskId: task.id,
    loopId,
    evolutionRound: o.evolutionRound ?? 0,
    refineRound: answer.refineRound,
    text: answer.text,
    prompt: answer.prompt,
    feedback: null,
    parseStatus: 'n/a',
    score: pass ? 1 : 0,
    promptTokens: u?.promptTokens ?? 0,
    completionTokens: u?.completionTokens ?? 0,
    finishReason: answer.cutOff ? 'length' : 'stop',
    startedAt,
    durationMs,
    prefillTokensPerSec: u?.prefillTokensPerSec ?? 0,
    decodeTokensPerSec: u?.decodeTokensPerSec ?? 0,
    seed: paramsFor(o.params, task).seed ?? null,
    engine: o.engine.kind,
    modelId: o.engine.modelId ?? 'unknown',
    adapterId: o.adapterId,
    source: 'self',
  };
}

/** Answers directly (one call per task, batched when the engine can). */
export async function answerDirect(o: EvalCommon, tasks: readonly Task[], onProgress?: (done: number, total: number) => void) {
  const prompts = tasks.map((t) => draftMessages(templatesFor(o, t), t.prompt));
  const now = o.now ?? Date.now;
  const startedAt = now();
  const results = await generateMany(
    o.engine,
    prompts.map((messages, i) => ({ ...paramsFor(o.params, tasks[i]), messages, adapterId: o.adapterId })),
    { signal: o.signal, batchSize: o.batchSize, onProgress },
  ).catch((e: unknown) => {
    const i = longestPrompt(prompts);
    throw tasks[i] ? explainOverflow(e, { kind: 'draft', messages: prompts[i], quotedChars: 0 }, tasks[i]) : e;
  });
  const durationMs = Math.max(0, now() - startedAt);
  return results.map((r, i) => ({ task: tasks[i], prompt: prompts[i], result: r, startedAt, durationMs: durationMs / results.length }));
}

/** Accuracy on the tasks that can be checked in code; others are listed as skipped. */
export async function evaluateAccuracy(o: AccuracyOptions): Promise<AccuracyReport> {
  const registry = o.registry ?? kindRegistry;
  const checkable = o.tasks.filter((t) => registry.isVerifiable(t));
  const skipped = o.tasks.filter((t) => !registry.isVerifiable(t)).map((t) => t.id);
  const now = o.now ?? Date.now;
  const perTask: TaskEval[] = [];
  const checkPass = (task: Task, text: string) => registry.checker(task)?.(text)?.pass ?? false;

  // Reuse finished evaluations of an interrupted run.
  const stored = new Map<string, StepRecord[]>();
  for (const s of o.resume ?? []) {
    const g = stored.get(s.loopId);
    if (g) g.push(s);
    else stored.set(s.loopId, [s]);
  }
  const finished = new Map<string, StepRecord>();
  for (const task of checkable) {
    const ev = stored.get(o.loopIdFor(task))?.find((s) => s.kind === 'evaluation' && s.taskId === task.id);
    if (ev) finished.set(task.id, ev);
  }
  const todo = checkable.filter((t) => !finished.has(t.id));
  /** The evaluation's steps: the stored ones and those written now (self-feedback is measured on them). */
  const steps: StepRecord[] = [...(o.resume ?? [])];
  const progress = o.onProgress ? (d: number) => o.onProgress!(finished.size + d, checkable.length) : undefined;

  if (!o.selfRefine) {
    const answers = await answerDirect(o, todo, progress ? (d) => progress(d) : undefined);
    for (const a of answers) {
      const pass = checkPass(a.task, a.result.text);
      const cutOff = a.result.finishReason === 'length';
      perTask.push({ taskId: a.task.id, answer: a.result.text, pass, cutOff });
      await o.onStep?.(
        evaluationStep(o, a.task, o.loopIdFor(a.task), { text: a.result.text, prompt: a.prompt, result: a.result, refineRound: 0, cutOff }, pass, a.startedAt, a.durationMs),
      );
    }
  } else {
    let done = 0;
    const record = async (s: StepRecord) => {
      await o.onStep?.(s);
      steps.push(s);
    };
    const loops = await runSelfRefineBatch({
      loops: todo.map((task) => ({ task, loopId: o.loopIdFor(task), resumeFrom: stored.get(o.loopIdFor(task)) ?? [] })),
      engine: o.engine,
      critic: o.selfRefine.critic,
      oracle: false,
      templates: o.templates,
      params: o.params,
      feedbackParams: o.selfRefine.feedbackParams,
      refineParams: o.selfRefine.refineParams,
      stop: o.selfRefine.stop,
      adapterId: o.adapterId,
      evolutionRound: o.evolutionRound,
      registry,
      signal: o.signal,
      now: o.now,
      onStep: record,
      batchSize: o.batchSize,
      onLoopDone: () => progress?.(++done),
    });
    for (const [i, loop] of loops.entries()) {
      const task = todo[i];
      const pass = checkPass(task, loop.finalAnswer);
      const final = loop.steps.filter((s) => s.kind === 'draft' || s.kind === 'refinement').at(-1);
      const cutOff = final?.finishReason === 'length';
      perTask.push({ taskId: task.id, answer: loop.finalAnswer, pass, cutOff, loop });
      const t = now();
      await o.onStep?.(evaluationStep(o, task, loop.loopId, { text: loop.finalAnswer, prompt: [], result: null, refineRound: loop.rounds, cutOff }, pass, t, 0));
    }
  }
  throwIfAborted(o.signal);
  for (const [taskId, ev] of finished) perTask.push({ taskId, answer: ev.text, pass: ev.score === 1, cutOff: ev.finishReason === 'length' });
  const order = new Map(checkable.map((t, i) => [t.id, i]));
  perTask.sort((a, b) => order.get(a.taskId)! - order.get(b.taskId)!);
  const passed = perTask.filter((p) => p.pass).length;
  const loopIds = new Set(checkable.map(o.loopIdFor));
  const selfFeedback = o.selfRefine
    ? selfFeedbackStats(steps.filter((s) => loopIds.has(s.loopId)), new Map(checkable.map((t) => [t.id, t])), registry)
    : null;
  const feedback = { n: 0, cutOff: 0 };
  if (o.selfRefine) {
    const mine = (s: StepRecord) => s.kind === 'feedback' && loopIds.has(s.loopId);
    const unique = new Map(steps.filter(mine).map((s) => [`${s.loopId}#${s.refineRound}`, s]));
    feedback.n = unique.size;
    feedback.cutOff = [...unique.values()].filter((s) => s.finishReason === 'length').length;
  }
  return {
    n: perTask.length,
    passed,
    accuracy: perTask.length === 0 ? null : passed / perTask.length,
    perTask,
    skipped,
    selfFeedback,
    cutOff: perTask.filter((p) => p.cutOff).length,
    feedback,
  };
}

export interface SideBySideRow {
  taskId: string;
  prompt: string;
  baseAnswer: string;
  adapterAnswer: string;
  /** Checker results (verifiable tasks), else null. */
  basePass: boolean | null;
  adapterPass: boolean | null;
  /** Pairwise judgement with the adapter's answer as "first" (open tasks, when a judge is given). */
  judgement: PairwiseJudgement | null;
}

export interface SideBySideReport {
  rows: SideBySideRow[];
  /** Accuracy over the verifiable tasks, or null when there are none. */
  baseAccuracy: number | null;
  adapterAccuracy: number | null;
  /** Adapter vs base on open tasks (wins = the adapter preferred in both orders), or null without a judge. */
  pairwise: WinRates | null;
}

export interface SideBySideOptions extends Omit<EvalCommon, 'adapterId'> {
  tasks: readonly Task[];
  /** The adapter under test; the base is `baseAdapterId` (default null = the base model). */
  adapterId: string;
  baseAdapterId?: string | null;
  judge?: ChatEngine;
  judgeTemplate?: JudgeTemplate;
  judgeParams?: GenerationParams;
  onProgress?: (done: number, total: number) => void;
}

/** The same prompts answered by the base and by the adapter; checked, and judged pairwise where open. */
export async function compareSideBySide(o: SideBySideOptions): Promise<SideBySideReport> {
  const registry = o.registry ?? kindRegistry;
  const total = o.tasks.length * 2 + (o.judge ? o.tasks.filter((t) => !registry.isVerifiable(t)).length : 0);
  let done = 0;
  const tick = (n: number) => o.onProgress?.((done += n), total);
  const base = await answerDirect({ ...o, adapterId: o.baseAdapterId ?? null }, o.tasks);
  tick(o.tasks.length);
  const adapted = await answerDirect({ ...o, adapterId: o.adapterId }, o.tasks);
  tick(o.tasks.length);
  const rows: SideBySideRow[] = [];
  const outcomes: PairwiseJudgement['outcome'][] = [];
  for (let i = 0; i < o.tasks.length; i++) {
    const task = o.tasks[i];
    const check = registry.checker(task);
    const b = base[i].result.text;
    const a = adapted[i].result.text;
    const row: SideBySideRow = {
      taskId: task.id,
      prompt: task.prompt,
      baseAnswer: b,
      adapterAnswer: a,
      basePass: check?.(b)?.pass ?? null,
      adapterPass: check?.(a)?.pass ?? null,
      judgement: null,
    };
    if (row.basePass === null && o.judge) {
      row.judgement = await judgePair({ judge: o.judge, prompt: task.prompt, first: a, second: b, template: o.judgeTemplate, params: o.judgeParams, signal: o.signal });
      outcomes.push(row.judgement.outcome);
      tick(1);
    }
    rows.push(row);
  }
  const acc = (key: 'basePass' | 'adapterPass') => {
    const checked = rows.filter((r) => r[key] !== null);
    return checked.length === 0 ? null : checked.filter((r) => r[key]).length / checked.length;
  };
  return { rows, baseAccuracy: acc('basePass'), adapterAccuracy: acc('adapterPass'), pairwise: o.judge ? winRates(outcomes) : null };
}
