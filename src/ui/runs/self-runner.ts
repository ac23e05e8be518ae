/**
 * SELF rounds from the SELF tab as a stored run (kind 'self'): `runSelfEvolution` (src/core/refine) on the
 * page's tfjs actor, every step written with `addStep` as it completes, each phase's checkpoint written into
 * the run's `progress` (with active time per phase), each round's metrics appended to `metrics`, and every
 * LoRA training stored as a training run with its adapter (StoredTrainer). A run cut off by a reload resumes
 * at phase granularity from its last checkpoint and its stored steps.
 *
 *   run.config   = { settings, budgets (per task kind), actor, critic, trainTaskIds, evalTaskIds, templates, train }
 *   run.progress = { checkpoint: SelfCheckpoint, phaseMs: { "<round>:<phase>": ms }, actorModels?: { "<round>": web-llm id } }
 *   run.metrics  = one point per evaluated round (self-metrics.ts)
 *
 * With a web-llm actor (an EvolvingTrainingEngine, ../engines/webllm-actor.ts) each evaluated round also
 * stores which model generated it (`actorModels`) and what its merge kept (`logitsKept`, `weightsKept`).
 */
import { AppError } from '../../core/errors.ts';
import { countSplits, type SplitCounts } from '../tasks/task-splits.ts';
import type { TfjsTrainConfig } from '../../core/engine/tfjs/api.ts';
import { isEvolvingTrainer, type LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { budgetsByKind, parseBudgets, stepParams, type StepBudget } from '../../core/refine/budgets.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import type { PromptTemplates } from '../../core/refine/templates.ts';
import { runSelfEvolution, type SelfCheckpoint, type SelfProgress, type SelfResult } from '../../core/refine/self-rounds.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import type { LockManagerLike } from '../../db/locks.ts';
import { appendRunMetric, executeRun, resumeStoredRun, updateRunProgress } from '../../db/runs.ts';
import { addStep, listSteps } from '../../db/steps.ts';
import { listTasks } from '../../db/tasks.ts';
import type { JsonObject, Run } from '../../db/types.ts';
import { ensureAdapters } from '../adapters/adapter-sync.ts';
import { engineStamp, storedStamp, type EngineStamp } from '../engines/engine-stamp.ts';
import { storedTemplates, templatesJson } from '../samples/run-templates.ts';
import { fromTaskRow } from '../tasks/task-rows.ts';
import type { CheckpointStore } from '../training/checkpoint-store.ts';
import { StoredTrainer, type TrainingEvent } from '../training/stored-trainer.ts';
import { formToConfig, configJson, parseConfigJson } from '../training/train-form.ts';
import { planEta, planFraction, selfPlan, type PlanSegment } from './self-plan.ts';
import { putRetention, roundPoint } from './self-metrics.ts';
import { selfEmptyReason } from './self-outcome.ts';
import { validateSelfSettings, type SelfSettings } from '../self/self-settings.ts';
import { obj, storedIds } from '../lib/stored-json.ts';

export interface SelfEngines {
  actor: LoraTrainingEngine;
  /** The critic slot's engine (meta-skill critic, judge), when loaded. */
  critic: ChatEngine | null;
}

export interface SelfRunConfig {
  settings: SelfSettings;
  /** The token budgets each task kind of the run uses. */
  budgets: Record<string, StepBudget>;
  actor: EngineStamp;
  critic: EngineStamp | null;
  trainTaskIds: string[];
  evalTaskIds: string[];
  templates: Record<string, PromptTemplates>;
  train: TfjsTrainConfig;
}

/** What the page shows while a run goes. */
export interface SelfLive {
  runId: string;
  round: number;
  phase: SelfProgress['phase'];
  done: number;
  total: number;
  message: string;
  /** 0..1 across all phases. */
  fraction: number;
  etaMs: number | null;
}

export interface SelfHooks {
  onRunStarted?: (run: Run) => void;
  onProgress?: (p: SelfLive) => void;
  onTraining?: (e: TrainingEvent) => void;
}

export interface SelfDeps {
  db: StudioDb;
  locks: LockManagerLike;
  checkpoints: CheckpointStore;
  registry?: KindRegistry;
  now?: () => number;
}

export interface SelfProgressJson {
  checkpoint: SelfCheckpoint;
  phaseMs: Record<string, number>;
  /** Web-llm actors: the model that generated each evaluated round, by round. */
  actorModels?: Record<string, string>;
}

function asJson<T>(v: T): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}

export function selfConfigJson(c: SelfRunConfig): JsonObject {
  return asJson({ ...c, train: configJson(c.train) });
}

export function parseSelfConfig(c: JsonObject): SelfRunConfig {
  const settings = obj(c.settings) as SelfSettings | null;
  if (!settings) throw new AppError('bad-input', 'This run has no SELF settings: it was not started from the SELF tab.');
  validateSelfSettings(settings);
  return {
    settings,
    budgets: parseBudgets(c.budgets),
    actor: storedStamp(c.actor, 'actor'),
    critic: c.critic == null ? null : storedStamp(c.critic, 'critic'),
    trainTaskIds: storedIds(c.trainTaskIds, 'The stored SELF run does not list its train prompts.'),
    evalTaskIds: storedIds(c.evalTaskIds, 'The stored SELF run does not list its held-out prompts.'),
    templates: storedTemplates(c),
    train: parseConfigJson(c.train),
  };
}

export function parseSelfProgress(p: JsonObject | null): SelfProgressJson | null {
  const o = obj(p);
  const cp = obj(o?.checkpoint) as SelfCheckpoint | null;
  if (!o || !cp || typeof cp.phase !== 'string' || typeof cp.round !== 'number') return null;
  const ms = obj(o.phaseMs) ?? {};
  const phaseMs: Record<string, number> = {};
  for (const [k, v] of Object.entries(ms)) if (typeof v === 'number') phaseMs[k] = v;
  const models = obj(o.actorModels);
  if (!models) return { checkpoint: cp, phaseMs };
  const actorModels: Record<string, string> = {};
  for (const [k, v] of Object.entries(models)) if (typeof v === 'string') actorModels[k] = v;
  return { checkpoint: cp, phaseMs, actorModels };
}

/** Whether the SELF settings need the critic slot (meta-skill by a critic, or the critic as judge). */
export function needsCritic(s: SelfSettings): boolean {
  return s.metaSkill === 'critic' || s.evaluation.judge === 'critic';
}

async function coreTasks(db: StudioDb, experimentId: string): Promise<CoreTask[]> {
  return (await listTasks(db, experimentId)).map(fromTaskRow);
}

/** Why the experiment's tasks cannot feed a SELF run (no train or no held-out prompts), or null. */
export function selfSplitProblem(c: SplitCounts): string | null {
  if (c.train === 0) return 'SELF needs prompts in the train split. Add a task set on the Tasks tab (the toy set: its train split is the unlabeled questions).';
  if (c.eval === 0) return 'SELF evaluates on held-out prompts, and this experiment has none in the eval split. Add some on the Tasks tab.';
  return null;
}

/** Which prompts a new run uses: the train prompts it will need, the first `evalCount` held-out ones. */
export function chooseTasks(tasks: readonly CoreTask[], s: SelfSettings): { train: CoreTask[]; eval: CoreTask[] } {
  const problem = selfSplitProblem(countSplits(tasks));
  if (problem) throw new AppError('bad-input', problem);
  const train = tasks.filter((t) => t.split === 'train');
  const evalAll = tasks.filter((t) => t.split === 'eval');
  const needed = s.perRound === 0 ? train.length : s.freshPerRound ? s.perRound * Math.max(1, s.rounds) : s.perRound;
  return { train: train.slice(0, Math.min(train.length, needed)), eval: s.evalCount === 0 ? evalAll : evalAll.slice(0, s.evalCount) };
}

/** Round r's prompts: the r-th window of `perRound` (wrapping around when the train split runs out). */
export function roundWindow<T>(train: readonly T[], round: number, perRound: number): T[] {
  if (perRound <= 0 || perRound >= train.length) return [...train];
  const start = ((round - 1) * perRound) % train.length;
  const out = train.slice(start, start + perRound);
  return out.length < perRound ? [...out, ...train.slice(0, perRound - out.length)] : out;
}

export function planOf(config: SelfRunConfig): PlanSegment[] {
  const s = config.settings;
  return selfPlan({
    rounds: s.rounds,
    metaSkill: s.metaSkill !== 'off',
    baseline: s.evaluation.baseline,
    selfRefineEval: s.evaluation.selfRefine,
    perRound: s.perRound === 0 ? config.trainTaskIds.length : Math.min(s.perRound, config.trainTaskIds.length),
    metaCount: config.trainTaskIds.length,
    evalCount: config.evalTaskIds.length,
  });
}

function checkEngines(config: SelfRunConfig, engines: SelfEngines): void {
  const a = engines.actor;
  if (a.kind !== config.actor.kind || a.modelId !== config.actor.modelId) {
    throw new AppError('bad-input', `This SELF run used ${config.actor.label} (${config.actor.modelId}); ${a.modelId ?? 'no model'} is loaded. Load ${config.actor.modelId} as the actor, then resume.`);
  }
  if (config.critic) {
    const c = engines.critic;
    if (!c || c.kind !== config.critic.kind || c.modelId !== config.critic.modelId) {
      throw new AppError('bad-input', `This SELF run used ${config.critic.label} as the critic. Load it in the critic slot, then resume.`);
    }
  }
}

async function execute(deps: SelfDeps, run: Run, config: SelfRunConfig, engines: SelfEngines, stored: readonly StepRecord[], resume: SelfProgressJson | null, signal: AbortSignal, hooks: SelfHooks): Promise<SelfResult> {
  const { db } = deps;
  const registry = deps.registry ?? kindRegistry;
  const now = deps.now ?? Date.now;
  const s = config.settings;
  const all = new Map((await coreTasks(db, run.experimentId)).map((t) => [t.id, t]));
  const pick = (ids: string[], what: string) => {
    const out = ids.map((id) => all.get(id)).filter((t): t is CoreTask => t !== undefined);
    if (out.length !== ids.length) throw new AppError('not-found', `Some ${what} of this SELF run were deleted, so it cannot go on. Start a new run.`);
    return out;
  };
  const train = pick(config.trainTaskIds, 'train prompts').map((t) => ({ ...t, split: 'train' as const }));
  const evalTasks = pick(config.evalTaskIds, 'held-out prompts').map((t) => ({ ...t, split: 'eval' as const }));
  const templates = (t: CoreTask) => config.templates[t.kind] ?? registry.templates(t.kind);
  const critic = config.critic ? engines.critic : null;
  const judge = s.evaluation.judge === 'critic' ? critic : s.evaluation.judge === 'actor' ? engines.actor : null;

  const current = resume?.checkpoint ?? null;
  const plan = planOf(config);
  const startFraction = current ? planFraction(plan, { ...current, done: 0, total: 1 }) : 0;
  const sessionStart = now();

  const trainer = new StoredTrainer({
    db,
    locks: deps.locks,
    checkpoints: deps.checkpoints,
    experimentId: run.experimentId,
    engine: engines.actor,
    origin: { kind: 'self', runId: run.id },
    onEvent: hooks.onTraining,
  });
  if (current?.adapterId) await ensureAdapters(engines.actor, db, [current.adapterId]);
  else if (s.startAdapterId) await ensureAdapters(engines.actor, db, [s.startAdapterId]);

  const p = stepParams({ temperature: s.temperature, seed: s.seed }, config.budgets, s, registry);
  const evolving = isEvolvingTrainer(engines.actor) ? engines.actor : null;
  const actorModels: Record<string, string> = { ...resume?.actorModels };
  return runSelfEvolution({
    runId: run.id,
    tasks: [...train, ...evalTasks],
    engine: engines.actor,
    trainer,
    trainConfig: config.train,
    rounds: s.rounds,
    startAdapterId: s.startAdapterId,
    loop: { stop: s.stop, params: p.draft, feedbackParams: p.feedback, refineParams: p.refine, oracle: false },
    templates,
    registry,
    filter: s.filter,
    shapes: s.shapes,
    roundTasks: s.freshPerRound && s.perRound > 0 ? (round, pool) => roundWindow(pool, round, s.perRound) : undefined,
    metaSkill: s.metaSkill === 'off' ? null : s.metaSkill === 'critic' ? { critic: critic ?? undefined } : { oracle: 'replace' },
    evaluation: { baseline: s.evaluation.baseline, selfRefine: s.evaluation.selfRefine, stop: s.stop, judge: judge ?? undefined },
    batchSize: s.batchSize,
    signal,
    now: deps.now,
    resume: resume ? { checkpoint: resume.checkpoint, steps: stored, phaseMs: resume.phaseMs } : undefined,
    store: {
      saveStep: async (step) => {
        await addStep(db, run.id, step);
      },
      saveCheckpoint: async (cp, phaseMs) => {
        await updateRunProgress(db, run.id, asJson({ checkpoint: cp, phaseMs, ...(evolving ? { actorModels } : {}) }));
      },
      saveRoundMetrics: async (m) => {
        const point = roundPoint(m);
        if (evolving) {
          const use = await evolving.modelFor(m.adapterId, signal);
          actorModels[String(m.round)] = use.modelId;
          putRetention(point, use.report);
        }
        await appendRunMetric(db, run.id, point);
      },
    },
    onProgress: (raw) => {
      // The orchestrator's baseline evaluates as 'evaluate' of round 0: name it the baseline.
      const p = raw.round === 0 && raw.phase === 'evaluate' ? { ...raw, phase: 'baseline' as const } : raw;
      const fraction = planFraction(plan, p);
      hooks.onProgress?.({ runId: run.id, round: p.round, phase: p.phase, done: p.done, total: p.total, message: p.message, fraction, etaMs: planEta(fraction, startFraction, now() - sessionStart) });
    },
  });
}

export interface StartSelfArgs {
  experimentId: string;
  experimentSettings: JsonObject;
  settings: SelfSettings;
  engines: SelfEngines;
  labels: { actor: string; critic: string | null };
  signal: AbortSignal;
  hooks?: SelfHooks;
}

/** Builds a new run's config (checks the settings, the engines and the tasks before anything is stored). */
export async function buildSelfConfig(db: StudioDb, a: Omit<StartSelfArgs, 'signal' | 'hooks'>): Promise<SelfRunConfig> {
  const s = a.settings;
  validateSelfSettings(s, a.engines.actor.model?.config.numLayers ?? null);
  if (needsCritic(s) && !a.engines.critic) {
    throw new AppError('bad-input', 'These SELF settings use the critic (meta-skill or judge). Load a critic in the Playground\'s engine setup, or change the settings.');
  }
  const { train, eval: evalTasks } = chooseTasks(await coreTasks(db, a.experimentId), s);
  return {
    settings: s,
    budgets: budgetsByKind([...train, ...evalTasks].map((t) => t.kind), s),
    actor: engineStamp(a.engines.actor, a.labels.actor),
    critic: needsCritic(s) && a.engines.critic ? engineStamp(a.engines.critic, a.labels.critic ?? a.engines.critic.kind) : null,
    trainTaskIds: train.map((t) => t.id),
    evalTaskIds: evalTasks.map((t) => t.id),
    templates: storedTemplates({ templates: templatesJson([...train, ...evalTasks].map((t) => t.kind), a.experimentSettings) }),
    train: formToConfig(s.train, a.engines.actor.model?.config.numLayers ?? null),
  };
}

export async function startSelfRun(deps: SelfDeps, a: StartSelfArgs): Promise<SelfResult> {
  const config = await buildSelfConfig(deps.db, a);
  return executeRun(deps.db, deps.locks, { experimentId: a.experimentId, kind: 'self', config: selfConfigJson(config) }, async (run) => {
    a.hooks?.onRunStarted?.(run);
    return execute(deps, run, config, a.engines, [], null, a.signal, a.hooks ?? {});
  }, (r) => selfEmptyReason(r, config));
}

export interface ResumeSelfArgs {
  runId: string;
  engines: SelfEngines;
  signal: AbortSignal;
  hooks?: SelfHooks;
}

/** Continues a SELF run that stopped (reload, stop, failure) from its last checkpoint and stored steps. */
export async function resumeSelfRun(deps: SelfDeps, a: ResumeSelfArgs): Promise<SelfResult> {
  const row = await deps.db.runs.get(a.runId);
  if (!row) throw new AppError('not-found', 'That SELF run no longer exists.');
  if (row.kind !== 'self') throw new AppError('bad-input', 'That run is not a SELF run.');
  const config = parseSelfConfig(row.config);
  checkEngines(config, a.engines);
  const progress = parseSelfProgress(row.progress);
  if (!progress) throw new AppError('bad-input', 'This SELF run stopped before it saved its first checkpoint. Start a new run.');
  return resumeStoredRun(deps.db, deps.locks, a.runId, async (run) => {
    a.hooks?.onRunStarted?.(run);
    const stored = await listSteps(deps.db, run.id);
    return execute(deps, run, config, a.engines, stored, progress, a.signal, a.hooks ?? {});
  }, undefined, (r) => selfEmptyReason(r, config));
}
