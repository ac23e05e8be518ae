/**
 * An evaluation as a stored run (kind 'eval'): the adapter under test and its base (the base model, or another
 * adapter) answer the same held-out prompts; verifiable prompts are checked in code (direct answers and,
 * separately, answers after inference-time self-refinement); open-ended prompts are judged pairwise by the
 * chosen judge with order swapping (win / tie / loss). Every answer is stored as a step
 * (loop ids `<runId>/eval-<base|adapter>-<direct|refine>/<taskId>`).
 *
 *   run.config   = { settings, budgets (per task kind: the token budgets used), actor, judge, evalTaskIds, templates }
 *   run.metrics  = { round: 0 } for the base side, { round: 1 } for the adapter (directAccuracy,
 *                  refinedAccuracy, selfFeedbackAccuracy, evalTasks; answers cut off by the token limit:
 *                  directCutOff, refinedCutOff, feedbackCutOff of feedbackCalls; wins/ties/losses of the adapter)
 * A run in which every checked answer was cut off by the token limit ends 'empty', saying what to change.
 *   run.progress = { pairwise: [{ taskId, baseAnswer, adapterAnswer, outcome, consistent }] }
 */
import { AppError } from '../../core/errors.ts';
import { hasCapability } from '../../core/engine/capabilities.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { budgetsByKind, stepParams } from '../../core/refine/budgets.ts';
import { compareSideBySide, evaluateAccuracy } from '../../core/refine/eval.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import { appendRunMetric, executeRun, updateRunProgress } from '../../db/runs.ts';
import { addStep } from '../../db/steps.ts';
import { listTasks } from '../../db/tasks.ts';
import type { JsonObject, Run, RunMetricPoint } from '../../db/types.ts';
import { ensureAdapters } from '../adapters/adapter-sync.ts';
import { engineStamp } from '../engines/engine-stamp.ts';
import { storedTemplates, templatesJson } from '../samples/run-templates.ts';
import type { PageDeps } from '../state/deps.ts';
import { planEta } from './self-plan.ts';
import { fromTaskRow } from '../tasks/task-rows.ts';
import { evalEmptyReason } from './eval-outcome.ts';
import { validateEvalSettings, type EvalSettings } from '../evaluation/eval-settings.ts';

export interface EvalLive {
  runId: string;
  done: number;
  total: number;
  message: string;
  fraction: number;
  etaMs: number | null;
}

export interface EvalArgs {
  experimentId: string;
  experimentSettings: JsonObject;
  settings: EvalSettings;
  /** Any engine; one that holds adapters (the `adapters` capability) when the settings name an adapter. */
  actor: ChatEngine;
  judge: ChatEngine | null;
  labels: { actor: string; judge: string | null };
  signal: AbortSignal;
  onRunStarted?: (run: Run) => void;
  onProgress?: (p: EvalLive) => void;
  registry?: KindRegistry;
  now?: () => number;
}

export interface PairwiseRow {
  taskId: string;
  prompt: string;
  baseAnswer: string;
  adapterAnswer: string;
  outcome: 'first' | 'second' | 'tie';
  consistent: boolean;
}

export function evalLoopId(runId: string, side: 'base' | 'adapter', mode: 'direct' | 'refine', taskId: string): string {
  return `${runId}/eval-${side}-${mode}/${taskId}`;
}

export async function runEvaluation(deps: PageDeps, a: EvalArgs): Promise<RunMetricPoint[]> {
  const s = a.settings;
  validateEvalSettings(s);
  const registry = a.registry ?? kindRegistry;
  const now = a.now ?? Date.now;
  const { db } = deps;
  if (a.actor.modelId === null) throw new AppError('bad-input', 'Load the actor model first.');
  const usesAdapters = s.adapterId !== null || s.baseAdapterId !== null;
  if (usesAdapters) {
    if (!hasCapability(a.actor, 'adapters')) throw new AppError('bad-input', 'Adapters are applied by the tfjs engine only: load a tfjs model as the actor.');
    await ensureAdapters(a.actor, db, [s.adapterId, s.baseAdapterId]);
  }
  if (s.judge !== 'none' && !a.judge) throw new AppError('bad-input', 'The judge is the critic, but no critic is loaded. Load one in the engine setup, or pick another judge.');
  const all = (await listTasks(db, a.experimentId)).map(fromTaskRow).filter((t) => t.split === 'eval');
  if (all.length === 0) throw new AppError('bad-input', 'There are no held-out prompts (eval split). Add some on the Tasks tab.');
  const tasks = s.evalCount === 0 ? all : all.slice(0, s.evalCount);
  const verifiable = tasks.filter((t) => registry.isVerifiable(t));
  const open = tasks.filter((t) => !registry.isVerifiable(t));
  const compare = s.adapterId !== s.baseAdapterId;
  const sides: { side: 'base' | 'adapter'; adapterId: string | null }[] = [{ side: 'base', adapterId: s.baseAdapterId }];
  if (compare) sides.push({ side: 'adapter', adapterId: s.adapterId });
  const templatesByKind = storedTemplates({ templates: templatesJson(tasks.map((t) => t.kind), a.experimentSettings, registry) });
  const budgets = budgetsByKind(tasks.map((t) => t.kind), s, registry);
  const params = stepParams({ temperature: 0 }, budgets, s, registry);
  const config: JsonObject = JSON.parse(
    JSON.stringify({
      settings: s,
      budgets,
      actor: engineStamp(a.actor, a.labels.actor),
      judge: a.judge && s.judge !== 'none' ? engineStamp(a.judge, a.labels.judge ?? a.judge.kind) : null,
      evalTaskIds: tasks.map((t) => t.id),
      templates: templatesByKind,
    }),
  ) as JsonObject;
  const total = sides.length * verifiable.length * (s.selfRefine ? 2 : 1) + (compare && s.judge !== 'none' ? open.length : 0);
  return executeRun(db, deps.locks, { experimentId: a.experimentId, kind: 'eval', config }, async (run) => {
    a.onRunStarted?.(run);
    const started = now();
    let base = 0;
    const tick = (d: number, message: string) => {
      const fraction = total === 0 ? 1 : Math.min(1, (base + d) / total);
      a.onProgress?.({ runId: run.id, done: base + d, total, message, fraction, etaMs: planEta(fraction, 0, now() - started) });
    };
    const onStep = async (step: StepRecord) => {
      await addStep(db, run.id, step);
    };
    const common = {
      engine: a.actor,
      params: params.draft,
      templates: (t: CoreTask) => templatesByKind[t.kind] ?? registry.templates(t.kind),
      registry,
      signal: a.signal,
      now: a.now,
      batchSize: s.batchSize,
    };
    const points: RunMetricPoint[] = [];
    for (const { side, adapterId } of sides) {
      const label = side === 'base' ? (adapterId ? 'base adapter' : 'base model') : 'adapter';
      const direct = await evaluateAccuracy({ ...common, adapterId, tasks: verifiable, loopIdFor: (t) => evalLoopId(run.id, side, 'direct', t.id), onStep, onProgress: (d) => tick(d, `${label}: direct answers ${d} of ${verifiable.length}`) });
      base += verifiable.length;
      const point: RunMetricPoint = { round: side === 'base' ? 0 : 1, evalTasks: direct.n, directCutOff: direct.cutOff };
      if (direct.accuracy !== null) point.directAccuracy = direct.accuracy;
      if (s.selfRefine) {
        const refined = await evaluateAccuracy({
          ...common,
          adapterId,
          tasks: verifiable,
          loopIdFor: (t) => evalLoopId(run.id, side, 'refine', t.id),
          selfRefine: { stop: { maxRounds: s.maxRefinements, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true, maxUnparsedInRow: 1 }, feedbackParams: params.feedback, refineParams: params.refine },
          onStep,
          onProgress: (d) => tick(d, `${label}: self-refined answers ${d} of ${verifiable.length}`),
        });
        base += verifiable.length;
        if (refined.accuracy !== null) point.refinedAccuracy = refined.accuracy;
        Object.assign(point, { refinedCutOff: refined.cutOff, feedbackCutOff: refined.feedback.cutOff, feedbackCalls: refined.feedback.n });
        if (refined.selfFeedback?.accuracy != null) point.selfFeedbackAccuracy = refined.selfFeedback.accuracy;
      }
      points.push(point);
      await appendRunMetric(db, run.id, point);
    }
    if (compare && s.judge !== 'none' && open.length > 0 && a.judge) {
      const report = await compareSideBySide({ ...common, adapterId: s.adapterId!, baseAdapterId: s.baseAdapterId, tasks: open, judge: a.judge, onProgress: (d, t) => tick(Math.max(0, d - 2 * open.length), `judging ${Math.max(0, d - 2 * open.length)} of ${t - 2 * open.length} open prompts`) });
      const rows: PairwiseRow[] = report.rows.map((r) => ({ taskId: r.taskId, prompt: r.prompt, baseAnswer: r.baseAnswer, adapterAnswer: r.adapterAnswer, outcome: r.judgement?.outcome ?? 'tie', consistent: r.judgement?.consistent ?? false }));
      await updateRunProgress(db, run.id, JSON.parse(JSON.stringify({ pairwise: rows })) as JsonObject);
      if (report.pairwise) {
        const adapterPoint = points.find((p) => p.round === 1) ?? { round: 1, evalTasks: 0 };
        Object.assign(adapterPoint, { wins: report.pairwise.wins, ties: report.pairwise.ties, losses: report.pairwise.losses, judged: report.pairwise.n });
        if (!points.includes(adapterPoint)) points.push(adapterPoint);
        await appendRunMetric(db, run.id, adapterPoint);
      }
    }
    return points;
  }, (points) => evalEmptyReason(points, budgets, s, registry));
}

/** A stored evaluation's answers side by side, from its steps: per verifiable task, each side's direct answer and pass. */
export interface SideBySide {
  taskId: string;
  base: { answer: string; pass: boolean } | null;
  adapter: { answer: string; pass: boolean } | null;
}

export function sideBySide(runId: string, steps: readonly StepRecord[], mode: 'direct' | 'refine' = 'direct'): SideBySide[] {
  const out = new Map<string, SideBySide>();
  for (const st of steps) {
    if (st.kind !== 'evaluation') continue;
    for (const side of ['base', 'adapter'] as const) {
      if (!st.loopId.startsWith(`${runId}/eval-${side}-${mode}/`)) continue;
      const row = out.get(st.taskId) ?? { taskId: st.taskId, base: null, adapter: null };
      row[side] = { answer: st.text, pass: st.score === 1 };
      out.set(st.taskId, row);
    }
  }
  return [...out.values()];
}
