/**
 * Runs Self-Refine from the playground as stored runs: one loop (kind 'refine', streaming, step-through) or
 * a batch over many tasks (kind 'batch', lock-step with chatBatch when the engine has it). Every step is
 * written with `addStep` the moment it completes, inside `executeRun` (new runs) or `resumeStoredRun`
 * (continuing a stored run from its steps). Plain TypeScript: the state classes call it and show its hooks.
 */
import { AppError } from '../../core/errors.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { stepParams } from '../../core/refine/budgets.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { runSelfRefine, runSelfRefineBatch, type LoopResult, type PendingCall } from '../../core/refine/loop.ts';
import type { LoopSettings } from '../../core/refine/loop-driver.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import type { LockManagerLike } from '../../db/locks.ts';
import { executeRun, resumeStoredRun, updateRunProgress } from '../../db/runs.ts';
import { addStep, listSteps } from '../../db/steps.ts';
import type { Run, Step } from '../../db/types.ts';
import type { EngineStamp } from '../engines/engine-stamp.ts';
import { loopIdFor, parseRunConfig, runConfigJson, type RefineRunConfig } from '../playground/run-config.ts';

export interface RunEngines {
  actor: ChatEngine;
  critic: ChatEngine | null;
}

export interface RunnerHooks {
  /** The run row exists (new or reopened); steps follow. */
  onRunStarted?: (run: Run, stored: readonly Step[]) => void;
  /** A step was stored. */
  onStep?: (step: Step) => void;
  /** Step-through: awaited before each engine call of a single loop (not before oracle checks). */
  gate?: (call: PendingCall) => Promise<void>;
  /** An engine call of a single loop starts (after the gate). */
  onCallStart?: (call: PendingCall) => void;
  onToken?: (delta: string, call: PendingCall) => void;
  /** A loop finished (batch: in the order they finish); `done` counts finished loops of the run. */
  onLoopDone?: (result: LoopResult, done: number, total: number) => void;
}

export interface RunOutcome {
  run: Run;
  results: LoopResult[];
}

export interface RunnerDeps {
  db: StudioDb;
  locks: LockManagerLike;
  registry?: KindRegistry;
}

/** Refuses to continue a run on other engines or models than it started with (its steps would mix models). */
export function checkEnginesMatch(config: RefineRunConfig, engines: RunEngines): void {
  const same = (s: EngineStamp, e: ChatEngine) => s.kind === e.kind && s.modelId === e.modelId;
  if (!same(config.actor, engines.actor)) {
    throw new AppError(
      'bad-input',
      `This run used ${config.actor.label} (${config.actor.kind}, ${config.actor.modelId}) as the actor, but ` +
        `${engines.actor.modelId ?? 'no model'} (${engines.actor.kind}) is loaded. Load the run's model, then resume.`,
    );
  }
  if (config.critic && (!engines.critic || !same(config.critic, engines.critic))) {
    throw new AppError('bad-input', `This run used ${config.critic.label} as the critic. Load it as the critic, then resume.`);
  }
  if (!config.critic && engines.critic) {
    throw new AppError('bad-input', 'This run used self-feedback (no critic). Remove the critic, then resume.');
  }
}

/** The loop settings a stored run config stands for (also used to try tasks out without storing them). */
export function loopSettings(config: RefineRunConfig, engines: RunEngines, signal: AbortSignal, registry: KindRegistry): LoopSettings {
  // A run stored before per-kind budgets used params.maxTokens for every step.
  const legacy = config.params.maxTokens ?? null;
  const p = stepParams(config.params, config.budgets, { answerTokens: legacy, feedbackTokens: legacy }, registry);
  return {
    engine: engines.actor,
    critic: engines.critic ?? undefined,
    oracle: config.oracle,
    templates: (task: CoreTask) => {
      const t = config.templates[task.kind];
      if (!t) throw new AppError('bad-input', `The run has no templates for tasks of kind "${task.kind}".`);
      return t;
    },
    params: p.draft,
    feedbackParams: p.feedback,
    refineParams: p.refine,
    stop: config.stop,
    historyLimit: config.historyLimit ?? undefined,
    adapterId: config.adapterId ?? null,
    registry,
    signal,
  };
}

function groupByLoop(steps: readonly Step[]): Map<string, StepRecord[]> {
  const out = new Map<string, StepRecord[]>();
  for (const s of steps) {
    const g = out.get(s.loopId);
    if (g) g.push(s);
    else out.set(s.loopId, [s]);
  }
  return out;
}

async function execute(
  deps: RunnerDeps,
  run: Run,
  config: RefineRunConfig,
  tasks: readonly CoreTask[],
  stored: readonly Step[],
  engines: RunEngines,
  signal: AbortSignal,
  hooks: RunnerHooks,
): Promise<LoopResult[]> {
  const { db } = deps;
  const registry = deps.registry ?? kindRegistry;
  const settings = loopSettings(config, engines, signal, registry);
  const byLoop = groupByLoop(stored);
  const onStep = async (record: StepRecord) => {
    const step = await addStep(db, run.id, record);
    hooks.onStep?.(step);
  };
  hooks.onRunStarted?.(run, stored);
  if (config.mode === 'single') {
    const task = tasks[0];
    const loopId = loopIdFor(run.id, task.id);
    const result = await runSelfRefine({
      ...settings,
      task,
      loopId,
      onStep,
      resumeFrom: byLoop.get(loopId) ?? [],
      onToken: hooks.onToken,
      gate: async (call) => {
        if (hooks.gate) await hooks.gate(call);
        hooks.onCallStart?.(call);
      },
    });
    hooks.onLoopDone?.(result, 1, 1);
    return [result];
  }
  let done = 0;
  const total = tasks.length;
  await updateRunProgress(db, run.id, { done, total });
  return runSelfRefineBatch({
    ...settings,
    batchSize: config.batchSize,
    loops: tasks.map((task) => {
      const loopId = loopIdFor(run.id, task.id);
      return { task, loopId, resumeFrom: byLoop.get(loopId) ?? [] };
    }),
    onStep,
    onLoopDone: async (result) => {
      done++;
      await updateRunProgress(db, run.id, { done, total });
      hooks.onLoopDone?.(result, done, total);
    },
  });
}

export interface StartArgs {
  experimentId: string;
  config: RefineRunConfig;
  /** The tasks of config.taskIds, in that order. */
  tasks: readonly CoreTask[];
  engines: RunEngines;
  signal: AbortSignal;
  hooks?: RunnerHooks;
}

/** Starts a new stored run. Aborting throws AppError('aborted') after the row is marked 'aborted'. */
export async function startRefineRun(deps: RunnerDeps, a: StartArgs): Promise<RunOutcome> {
  if (a.tasks.length === 0) throw new AppError('bad-input', 'Pick at least one task to run.');
  if (a.config.mode === 'single' && a.tasks.length !== 1) throw new AppError('internal', 'A single run takes exactly one task.');
  checkEnginesMatch(a.config, a.engines);
  let runRow: Run | null = null;
  const results = await executeRun(
    deps.db,
    deps.locks,
    { experimentId: a.experimentId, kind: a.config.mode === 'single' ? 'refine' : 'batch', config: runConfigJson(a.config) },
    (run) => {
      runRow = run;
      return execute(deps, run, a.config, a.tasks, [], a.engines, a.signal, a.hooks ?? {});
    },
  );
  return { run: runRow!, results };
}

export interface ResumeArgs {
  runId: string;
  /** Looks up the run's tasks by id (the stored rows as core tasks). */
  tasks: (ids: readonly string[]) => Promise<CoreTask[]>;
  engines: RunEngines;
  signal: AbortSignal;
  hooks?: RunnerHooks;
}

/** Continues a stored run (interrupted, stopped or failed) from its stored steps, with its own settings. */
export async function resumeRefineRun(deps: RunnerDeps, a: ResumeArgs): Promise<RunOutcome> {
  const row = await deps.db.runs.get(a.runId);
  if (!row) throw new AppError('not-found', 'That run no longer exists (it may have been deleted in another tab).');
  const config = parseRunConfig(row.config);
  checkEnginesMatch(config, a.engines);
  const tasks = await a.tasks(config.taskIds);
  if (tasks.length !== config.taskIds.length) {
    throw new AppError('not-found', 'Some tasks of this run were deleted, so it cannot be resumed. Start a new run instead.');
  }
  let runRow: Run | null = null;
  const results = await resumeStoredRun(deps.db, deps.locks, a.runId, async (run) => {
    runRow = run;
    const stored = await listSteps(deps.db, run.id);
    return execute(deps, run, config, tasks, stored, a.engines, a.signal, a.hooks ?? {});
  });
  return { run: runRow!, results };
}
