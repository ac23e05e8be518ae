/**
 * SRT from the SRT tab as a stored run (kind 'srt'): `runSrt` (src/core/refine) with the critic slot's engine
 * reviewing and refining the tfjs actor's answers, SFT on feedback-then-refinement, DPO on refined ≻ initial,
 * optional evaluation; steps stored as they complete, the checkpoint after each phase in `progress`, the
 * metrics so far as one point (round 0) in `metrics`, trainings as training runs with their adapters.
 *
 *   run.config   = { settings, budgets (per task kind), actor, critic, trainTaskIds, evalTaskIds, templates, sft, dpo }
 * A run that trained nothing (no SFT row, no preference pair) ends 'empty', saying why and what to change.
 *   run.progress = { checkpoint: SrtCheckpoint, phaseMs }
 */
import { AppError } from '../../core/errors.ts';
import { countSplits, type SplitCounts } from '../tasks/task-splits.ts';
import type { TfjsTrainConfig } from '../../core/engine/tfjs/api.ts';
import { isEvolvingTrainer, type EvolvingTrainingEngine, type LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { budgetsByKind, parseBudgets, stepParams, type StepBudget } from '../../core/refine/budgets.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { runSrt, srtLoopId, type SrtCheckpoint, type SrtMetrics, type SrtProgress } from '../../core/refine/srt.ts';
import type { PromptTemplates } from '../../core/refine/templates.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import { appendRunMetric, executeRun, resumeStoredRun, updateRunProgress } from '../../db/runs.ts';
import { addStep, listSteps } from '../../db/steps.ts';
import { listTasks } from '../../db/tasks.ts';
import type { JsonObject, Run, RunMetricPoint } from '../../db/types.ts';
import { ensureAdapters } from '../adapters/adapter-sync.ts';
import { engineStamp, storedStamp, type EngineStamp } from '../engines/engine-stamp.ts';
import { storedTemplates, templatesJson } from '../samples/run-templates.ts';
import type { PageDeps } from '../state/deps.ts';
import { fromTaskRow } from '../tasks/task-rows.ts';
import { phaseShare, planEta } from './self-plan.ts';
import { StoredTrainer } from '../training/stored-trainer.ts';
import { configJson, formToConfig, parseConfigJson } from '../training/train-form.ts';
import { srtEmptyReason } from './srt-outcome.ts';
import { putRetention } from './self-metrics.ts';
import { validateSrtSettings, type SrtSettings } from '../srt/srt-settings.ts';
import { obj, storedIds } from '../lib/stored-json.ts';

export interface SrtEngines {
  actor: LoraTrainingEngine;
  critic: ChatEngine;
}

export interface SrtRunConfig {
  settings: SrtSettings;
  /** The token budgets each task kind of the run uses. */
  budgets: Record<string, StepBudget>;
  actor: EngineStamp;
  critic: EngineStamp;
  trainTaskIds: string[];
  evalTaskIds: string[];
  templates: Record<string, PromptTemplates>;
  sft: TfjsTrainConfig;
  dpo: TfjsTrainConfig;
}

export interface SrtLive {
  runId: string;
  phase: SrtProgress['phase'];
  done: number;
  total: number;
  message: string;
  etaMs: number | null;
  /** 0..1 over the phases. */
  fraction: number;
}

const PHASES: SrtProgress['phase'][] = ['collect', 'sft', 'dpo', 'evaluate'];
/** Share of the bar per phase (the critic's loops dominate). */
const WEIGHTS: Record<SrtProgress['phase'], number> = { collect: 0.55, sft: 0.15, dpo: 0.15, evaluate: 0.15 };

export function srtFraction(p: Pick<SrtProgress, 'phase' | 'done' | 'total' | 'inside'>): number {
  const i = PHASES.indexOf(p.phase);
  const before = PHASES.slice(0, i).reduce((a, x) => a + WEIGHTS[x], 0);
  return Math.min(1, before + WEIGHTS[p.phase] * phaseShare(p));
}

function asJson<T>(v: T): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}

/** The SRT metrics as the one point a run row keeps. */
export function srtPoint(m: SrtMetrics): RunMetricPoint {
  const p: RunMetricPoint = { round: 0, loops: m.loops, kept: m.kept, improved: m.improved, sftRows: m.sftRows, preferencePairs: m.preferencePairs };
  const put = (k: string, v: number | null | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) p[k] = v;
  };
  put('sftLoss', m.sft?.finalLoss);
  put('dpoLoss', m.dpo?.finalLoss);
  put('accuracyStart', m.accuracy?.start);
  put('accuracySft', m.accuracy?.sft);
  put('accuracyDpo', m.accuracy?.dpo);
  put('answers', m.collectCutOff?.answers);
  put('answersCutOff', m.collectCutOff?.answersCut);
  put('feedbacks', m.collectCutOff?.feedback);
  put('feedbackCutOff', m.collectCutOff?.feedbackCut);
  for (const k of ['start', 'sft', 'dpo'] as const) {
    const c = m.evalCutOff?.[k];
    if (c) {
      put(`evalN_${k}`, c.n);
      put(`evalCutOff_${k}`, c.cutOff);
    }
  }
  return p;
}

export function parseSrtConfig(c: JsonObject): SrtRunConfig {
  const settings = obj(c.settings) as SrtSettings | null;
  if (!settings) throw new AppError('bad-input', 'This run has no SRT settings.');
  return {
    settings,
    budgets: parseBudgets(c.budgets),
    actor: storedStamp(c.actor, 'actor'),
    critic: storedStamp(c.critic, 'critic'),
    trainTaskIds: storedIds(c.trainTaskIds, 'The stored SRT run does not list its train prompts.'),
    evalTaskIds: storedIds(c.evalTaskIds, 'The stored SRT run does not list its held-out prompts.'),
    templates: storedTemplates(c),
    sft: parseConfigJson(c.sft),
    dpo: parseConfigJson(c.dpo),
  };
}

export function parseSrtCheckpoint(p: JsonObject | null): SrtCheckpoint | null {
  const cp = obj(obj(p)?.checkpoint) as SrtCheckpoint | null;
  return cp && typeof cp.phase === 'string' ? cp : null;
}

export interface SrtArgs {
  experimentId: string;
  experimentSettings: JsonObject;
  settings: SrtSettings;
  engines: SrtEngines;
  labels: { actor: string; critic: string };
  signal: AbortSignal;
  onRunStarted?: (run: Run) => void;
  onProgress?: (p: SrtLive) => void;
}

/** Why the experiment's tasks cannot feed an SRT run (no train prompts, or none held out for its evaluation), or null. */
export function srtSplitProblem(c: SplitCounts, evaluate: boolean): string | null {
  if (c.train === 0) return 'SRT needs prompts in the train split. Add tasks on the Tasks tab.';
  if (evaluate && c.eval === 0) return 'The evaluation needs held-out prompts in the eval split. Add some, or untick the evaluation.';
  return null;
}

async function coreTasks(db: StudioDb, experimentId: string): Promise<CoreTask[]> {
  return (await listTasks(db, experimentId)).map(fromTaskRow);
}

export async function buildSrtConfig(db: StudioDb, a: Omit<SrtArgs, 'signal'>): Promise<SrtRunConfig> {
  const s = a.settings;
  const layers = a.engines.actor.model?.config.numLayers ?? null;
  validateSrtSettings(s, layers);
  if (a.engines.critic === a.engines.actor) throw new AppError('bad-input', 'SRT needs the critic slot loaded with its own engine (a larger model, the tfjs model again, or an endpoint).');
  const tasks = await coreTasks(db, a.experimentId);
  const train = tasks.filter((t) => t.split === 'train');
  const evalTasks = tasks.filter((t) => t.split === 'eval');
  const problem = srtSplitProblem(countSplits(tasks), s.evaluate);
  if (problem) throw new AppError('bad-input', problem);
  const pickedTrain = s.perRound === 0 ? train : train.slice(0, s.perRound);
  const pickedEval = s.evaluate ? (s.evalCount === 0 ? evalTasks : evalTasks.slice(0, s.evalCount)) : [];
  return {
    settings: s,
    budgets: budgetsByKind([...pickedTrain, ...pickedEval].map((t) => t.kind), s),
    actor: engineStamp(a.engines.actor, a.labels.actor),
    critic: engineStamp(a.engines.critic, a.labels.critic),
    trainTaskIds: pickedTrain.map((t) => t.id),
    evalTaskIds: pickedEval.map((t) => t.id),
    templates: storedTemplates({ templates: templatesJson([...pickedTrain, ...pickedEval].map((t) => t.kind), a.experimentSettings) }),
    sft: formToConfig(s.sft, layers),
    dpo: formToConfig(s.dpoTrain, layers),
  };
}

async function execute(deps: PageDeps & { registry?: KindRegistry }, run: Run, config: SrtRunConfig, engines: SrtEngines, stored: readonly StepRecord[], resume: { checkpoint: SrtCheckpoint; phaseMs: Record<string, number> } | null, a: Pick<SrtArgs, 'signal' | 'onProgress'>): Promise<SrtCheckpoint> {
  const { db } = deps;
  const registry = deps.registry ?? kindRegistry;
  const s = config.settings;
  const all = new Map((await coreTasks(db, run.experimentId)).map((t) => [t.id, t]));
  const pick = (ids: string[]) => {
    const out = ids.map((id) => all.get(id)).filter((t): t is CoreTask => t !== undefined);
    if (out.length !== ids.length) throw new AppError('not-found', 'Some prompts of this SRT run were deleted, so it cannot go on. Start a new run.');
    return out;
  };
  const tasks = [...pick(config.trainTaskIds).map((t) => ({ ...t, split: 'train' as const })), ...pick(config.evalTaskIds).map((t) => ({ ...t, split: 'eval' as const }))];
  const trainer = new StoredTrainer({ ...deps, experimentId: run.experimentId, engine: engines.actor, origin: { kind: 'srt', runId: run.id } });
  const start = resume?.checkpoint.startAdapterId ?? s.startAdapterId;
  await ensureAdapters(engines.actor, db, [start, resume?.checkpoint.sftAdapterId, resume?.checkpoint.dpoAdapterId]);
  const sessionStart = Date.now();
  const startFraction = resume && resume.checkpoint.phase !== 'done' ? srtFraction({ phase: resume.checkpoint.phase, done: 0, total: 1 }) : 0;
  const p = stepParams({ temperature: 0 }, config.budgets, s, registry);
  const evolving = isEvolvingTrainer(engines.actor) ? engines.actor : null;
  return runSrt({
    runId: run.id,
    tasks,
    actor: engines.actor,
    critic: engines.critic,
    trainer,
    sftConfig: config.sft,
    dpoConfig: config.dpo,
    startAdapterId: s.startAdapterId,
    stop: { maxRounds: s.critiqueRounds, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true },
    params: p.draft,
    criticParams: p.feedback,
    refineParams: p.refine,
    templates: (t) => config.templates[t.kind] ?? registry.templates(t.kind),
    registry,
    // Without the improvement filter every reviewed answer trains, and every changed refinement gives a
    // preference pair (SRT's own assumption: the critic's refinement is the better answer).
    filter: s.requireImproved
      ? { requireImproved: true }
      : { manual: Object.fromEntries(config.trainTaskIds.map((id) => [srtLoopId(run.id, 'collect', id), 'include' as const])) },
    sftShapes: s.sftShapes,
    dpo: s.dpo,
    evaluate: s.evaluate,
    batchSize: s.batchSize,
    signal: a.signal,
    resume: resume ? { checkpoint: resume.checkpoint, steps: stored, phaseMs: resume.phaseMs } : undefined,
    store: {
      saveStep: async (step) => void (await addStep(db, run.id, step)),
      saveCheckpoint: async (cp, phaseMs) => {
        const point = srtPoint(cp.metrics);
        const models = evolving ? await evolvedModels(evolving, cp, point, a.signal) : null;
        await updateRunProgress(db, run.id, asJson({ checkpoint: cp, phaseMs, ...(models ? { actorModels: models } : {}) }));
        await appendRunMetric(db, run.id, point);
      },
    },
    onProgress: (p) => {
      const fraction = srtFraction(p);
      a.onProgress?.({ runId: run.id, phase: p.phase, done: p.done, total: p.total, message: p.message, etaMs: planEta(fraction, startFraction, Date.now() - sessionStart), fraction });
    },
  });
}

/**
 * A web-llm actor (an EvolvingTrainingEngine): the model that generated at the start, after SFT and after DPO,
 * for `progress.actorModels`, and what each merge kept, into the point (`logitsKeptSft`, `weightsKeptDpo`, …).
 */
async function evolvedModels(actor: EvolvingTrainingEngine, cp: SrtCheckpoint, point: RunMetricPoint, signal: AbortSignal): Promise<Record<string, string>> {
  const out: Record<string, string> = { start: (await actor.modelFor(cp.startAdapterId, signal)).modelId };
  for (const [key, id] of [['sft', cp.sftAdapterId], ['dpo', cp.dpoAdapterId]] as const) {
    if (!id) continue;
    const use = await actor.modelFor(id, signal);
    out[key] = use.modelId;
    const suffix = key === 'sft' ? 'Sft' : 'Dpo';
    const r = putRetention({ round: 0 }, use.report);
    for (const k of ['mergeExact', 'weightsKept', 'logitsKept']) if (r[k] !== undefined) point[`${k}${suffix}`] = r[k];
  }
  return out;
}

export async function startSrtRun(deps: PageDeps, a: SrtArgs): Promise<SrtCheckpoint> {
  const config = await buildSrtConfig(deps.db, a);
  const json = asJson({ ...config, sft: configJson(config.sft), dpo: configJson(config.dpo) });
  return executeRun(deps.db, deps.locks, { experimentId: a.experimentId, kind: 'srt', config: json }, async (run) => {
    a.onRunStarted?.(run);
    return execute(deps, run, config, a.engines, [], null, a);
  }, (cp) => srtEmptyReason(cp.metrics, config));
}

export async function resumeSrtRun(deps: PageDeps, a: { runId: string; engines: SrtEngines; signal: AbortSignal; onRunStarted?: (run: Run) => void; onProgress?: (p: SrtLive) => void }): Promise<SrtCheckpoint> {
  const row = await deps.db.runs.get(a.runId);
  if (!row || row.kind !== 'srt') throw new AppError('not-found', 'That SRT run no longer exists.');
  const config = parseSrtConfig(row.config);
  const same = (st: EngineStamp, e: ChatEngine) => st.kind === e.kind && st.modelId === e.modelId;
  if (!same(config.actor, a.engines.actor) || !same(config.critic, a.engines.critic)) {
    throw new AppError('bad-input', `This SRT run used ${config.actor.label} as the actor and ${config.critic.label} as the critic. Load those, then resume.`);
  }
  const checkpoint = parseSrtCheckpoint(row.progress);
  if (!checkpoint) throw new AppError('bad-input', 'This SRT run stopped before its first checkpoint. Start a new run.');
  const phaseMs = (obj(obj(row.progress)?.phaseMs) ?? {}) as Record<string, number>;
  return resumeStoredRun(deps.db, deps.locks, a.runId, async (run) => {
    a.onRunStarted?.(run);
    return execute(deps, run, config, a.engines, await listSteps(deps.db, run.id), { checkpoint, phaseMs }, a);
  }, undefined, (cp) => srtEmptyReason(cp.metrics, config));
}
