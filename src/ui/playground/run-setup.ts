/**
 * The config of a new playground run, from the experiment's settings and the loaded engines: templates are
 * resolved per task kind of the run (defaults + the experiment's edits) and written into the run, so a
 * resume or a replay uses exactly what the run started with.
 */
import { AppError } from '../../core/errors.ts';
import { budgetsByKind } from '../../core/refine/budgets.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import type { PromptTemplates } from '../../core/refine/templates.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import { engineStamp } from '../engines/engine-stamp.ts';
import type { RunEngines } from '../runs/loop-runner.ts';
import { budgetChoice, generationParams, templatesFor, validateRefineSettings, type RefineSettings } from './refine-settings.ts';
import type { RefineRunConfig } from './run-config.ts';

export interface EngineLabels {
  actor: string;
  critic: string | null;
}

export function buildRunConfig(
  mode: RefineRunConfig['mode'],
  tasks: readonly CoreTask[],
  settings: RefineSettings,
  engines: RunEngines,
  labels: EngineLabels,
  registry: KindRegistry = kindRegistry,
): RefineRunConfig {
  if (tasks.length === 0) throw new AppError('bad-input', 'There are no tasks to run. Add tasks on the Tasks tab, or type a prompt.');
  validateRefineSettings(settings, registry);
  const templates: Record<string, PromptTemplates> = {};
  for (const t of tasks) templates[t.kind] ??= templatesFor(t.kind, settings, registry);
  if (settings.oracle === 'replace') {
    const unchecked = tasks.find((t) => !registry.isVerifiable(t));
    if (unchecked) {
      throw new AppError(
        'bad-input',
        `The oracle cannot replace model feedback for a task without a checker ("${unchecked.prompt.slice(0, 60)}"). ` +
          'Set the oracle to "alongside model feedback", or pick checkable tasks.',
      );
    }
  }
  return {
    mode,
    taskIds: tasks.map((t) => t.id),
    actor: engineStamp(engines.actor, labels.actor),
    critic: engines.critic ? engineStamp(engines.critic, labels.critic ?? engines.critic.kind) : null,
    params: generationParams(settings.params),
    budgets: budgetsByKind(tasks.map((t) => t.kind), budgetChoice(settings), registry),
    stop: { ...settings.stop },
    oracle: settings.oracle,
    templates,
    historyLimit: settings.historyLimit,
    stepThrough: settings.stepThrough,
    batchSize: settings.batchSize,
  };
}
