/**
 * "Show a task the model gets wrong": runs the model on the experiment's checkable train tasks (Self-Refine
 * with the Playground's settings, nothing stored) until it finds one whose draft the checker fails and whose
 * refinement it passes, so the first loop a class watches shows a refinement. The answer comes from running
 * the model, never from a list: another model or other settings find another task (or none).
 */
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { runSelfRefineBatch } from '../../core/refine/loop.ts';
import { summarizeLoops } from '../../core/refine/samples.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import { listTasks } from '../../db/tasks.ts';
import type { Experiment } from '../../db/types.ts';
import { experimentEngines } from '../engines/auto-load.ts';
import type { EngineManager } from '../engines/engine-manager.svelte.ts';
import { readEngineSetup } from '../engines/engine-setup.ts';
import { loadCoreTasks } from '../tasks/task-lookup.ts';
import { loopSettings, type RunEngines } from '../runs/loop-runner.ts';
import type { RefineSettings } from './refine-settings.ts';
import { buildRunConfig, type EngineLabels } from './run-setup.ts';

export interface ShowcaseFind {
  task: CoreTask;
  /** True: wrong draft, right final answer. False: wrong draft that stayed wrong (no fixed one was found). */
  fixed: boolean;
  /** Tasks tried to find it. */
  tried: number;
}

export interface ShowcaseArgs {
  /** Candidates in order; the search starts after `afterId` (so pressing again shows another task). */
  tasks: readonly CoreTask[];
  afterId?: string | null;
  settings: RefineSettings;
  engines: RunEngines;
  labels: EngineLabels;
  /** Tasks tried per batch, and at most in all. */
  chunk?: number;
  limit?: number;
  signal?: AbortSignal;
  registry?: KindRegistry;
}

/** The first task (after `afterId`, wrapping round) the model gets wrong and then fixes; else the first it gets wrong; else null. */
export async function findShowcaseTask(a: ShowcaseArgs): Promise<ShowcaseFind | null> {
  const registry = a.registry ?? kindRegistry;
  const checkable = a.tasks.filter((t) => registry.isVerifiable(t));
  const start = a.afterId ? checkable.findIndex((t) => t.id === a.afterId) + 1 : 0;
  const order = [...checkable.slice(start), ...checkable.slice(0, start)].slice(0, a.limit ?? 64);
  const chunk = a.chunk ?? 16;
  let wrong: CoreTask | null = null;
  for (let i = 0; i < order.length; i += chunk) {
    const tasks = order.slice(i, i + chunk);
    const config = buildRunConfig('batch', tasks, { ...a.settings, stepThrough: false }, a.engines, a.labels, registry);
    const steps: StepRecord[] = [];
    await runSelfRefineBatch({
      ...loopSettings(config, a.engines, a.signal ?? new AbortController().signal, registry),
      batchSize: config.batchSize,
      loops: tasks.map((task) => ({ task, loopId: `showcase:${task.id}` })),
      onStep: async (s) => void steps.push(s),
    });
    const loops = summarizeLoops(tasks, steps, registry);
    for (const task of tasks) {
      const l = loops.find((x) => x.task.id === task.id);
      if (l?.initialPass === false && l.finalPass === true) return { task, fixed: true, tried: i + tasks.indexOf(task) + 1 };
      if (l?.initialPass === false) wrong ??= task;
    }
  }
  return wrong ? { task: wrong, fixed: false, tried: order.length } : null;
}

/** The search over an experiment's train tasks with its own engines (loaded first when needed). */
export async function searchExperiment(
  db: StudioDb,
  engines: EngineManager,
  experiment: Experiment,
  settings: RefineSettings,
  afterId: string | null,
): Promise<ShowcaseFind | null> {
  const e = await experimentEngines(db, engines, experiment.settings);
  const critic = readEngineSetup(experiment.settings).setup.critic ? e.critic : null;
  const rows = await listTasks(db, experiment.id, 'train');
  const tasks = await loadCoreTasks(db, rows.map((r) => r.id));
  const labels = { actor: engines.actor.label, critic: critic ? engines.critic.label : null };
  return findShowcaseTask({ tasks, afterId, settings, engines: { actor: e.actor, critic }, labels });
}
