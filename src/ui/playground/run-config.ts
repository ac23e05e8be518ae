/**
 * What a playground run stores in its row's `config`: everything needed to show it later and to resume it
 * with exactly the settings it started with (templates resolved per task kind, sampling, stop rules, oracle,
 * which engines and models). Read back with validation: a run row may come from an imported bundle.
 */
import { AppError } from '../../core/errors.ts';
import type { EngineKind, GenerationParams } from '../../core/engine/types.ts';
import { parseBudgets, type StepBudget } from '../../core/refine/budgets.ts';
import type { OracleMode } from '../../core/refine/oracle.ts';
import { validateStopRules, type StopRules } from '../../core/refine/plan.ts';
import { validateTemplates, TEMPLATE_FIELDS, type PromptTemplates, type TemplateField } from '../../core/refine/templates.ts';
import type { JsonObject } from '../../db/types.ts';
import { storedStamp, type EngineStamp } from '../engines/engine-stamp.ts';
import { obj } from '../lib/stored-json.ts';

export interface RefineRunConfig {
  mode: 'single' | 'batch';
  taskIds: string[];
  actor: EngineStamp;
  critic: EngineStamp | null;
  params: GenerationParams;
  /** The token budgets each task kind of the run used (runs stored before them: params.maxTokens for every step). */
  budgets: Record<string, StepBudget>;
  stop: StopRules;
  oracle: OracleMode;
  /** The templates each task kind of the run used. */
  templates: Record<string, PromptTemplates>;
  historyLimit: number | null;
  stepThrough: boolean;
  batchSize: number;
  /** The actor's LoRA adapter (tfjs engine; a stored adapter id), when one was chosen. */
  adapterId?: string | null;
}

/** A loop's id inside a run: deterministic, so a resumed run finds its loops' steps. */
export function loopIdFor(runId: string, taskId: string): string {
  return `${runId}/${taskId}`;
}

export function runConfigJson(c: RefineRunConfig): JsonObject {
  const templates: JsonObject = {};
  for (const [kind, t] of Object.entries(c.templates)) templates[kind] = { ...t };
  const params: JsonObject = {};
  for (const [k, v] of Object.entries(c.params)) if (v !== undefined) params[k] = Array.isArray(v) ? [...v] : v;
  return {
    mode: c.mode,
    taskIds: [...c.taskIds],
    actor: { ...c.actor },
    critic: c.critic ? { ...c.critic } : null,
    params,
    budgets: JSON.parse(JSON.stringify(c.budgets)) as JsonObject,
    stop: { ...c.stop },
    oracle: c.oracle,
    templates,
    historyLimit: c.historyLimit,
    stepThrough: c.stepThrough,
    batchSize: c.batchSize,
    ...(c.adapterId ? { adapterId: c.adapterId } : {}),
  };
}

function params(v: unknown): GenerationParams {
  const o = obj(v) ?? {};
  const out: GenerationParams = {};
  for (const k of ['maxTokens', 'temperature', 'topP', 'topK', 'repetitionPenalty', 'seed'] as const) {
    const x = o[k];
    if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
  }
  if (Array.isArray(o.stop) && o.stop.every((s) => typeof s === 'string')) out.stop = [...(o.stop as string[])];
  return out;
}

function templates(v: unknown): Record<string, PromptTemplates> {
  const o = obj(v);
  if (!o) throw new AppError('bad-input', 'The stored run has no prompt templates.');
  const out: Record<string, PromptTemplates> = {};
  for (const [kind, t] of Object.entries(o)) {
    const to = obj(t);
    if (!to) throw new AppError('bad-input', `The stored run's templates for "${kind}" are not an object.`);
    const full = {} as PromptTemplates;
    for (const f of Object.keys(TEMPLATE_FIELDS) as TemplateField[]) full[f] = typeof to[f] === 'string' ? (to[f] as string) : (undefined as unknown as string);
    validateTemplates(full);
    out[kind] = full;
  }
  return out;
}

/** Reads a run row's config; throws AppError('bad-input') saying what is missing. */
export function parseRunConfig(config: JsonObject): RefineRunConfig {
  const mode = config.mode === 'batch' ? 'batch' : config.mode === 'single' ? 'single' : null;
  if (!mode) throw new AppError('bad-input', 'This run was not started from the playground (its config has no mode).');
  const taskIds = config.taskIds;
  if (!Array.isArray(taskIds) || taskIds.length === 0 || !taskIds.every((t) => typeof t === 'string')) {
    throw new AppError('bad-input', 'The stored run does not list its tasks.');
  }
  const so = obj(config.stop) ?? {};
  const stop: StopRules = {
    maxRounds: typeof so.maxRounds === 'number' ? so.maxRounds : NaN,
    scoreThreshold: typeof so.scoreThreshold === 'number' ? so.scoreThreshold : null,
    stopOnNoIssues: so.stopOnNoIssues === true,
    stopOnUnchanged: so.stopOnUnchanged === true,
    maxUnparsedInRow: typeof so.maxUnparsedInRow === 'number' ? so.maxUnparsedInRow : 2,
  };
  validateStopRules(stop);
  const oracle: OracleMode = config.oracle === 'accompany' || config.oracle === 'replace' ? config.oracle : 'off';
  const h = config.historyLimit;
  const b = config.batchSize;
  return {
    mode,
    taskIds: [...(taskIds as string[])],
    actor: storedStamp(config.actor, 'actor'),
    critic: config.critic == null ? null : storedStamp(config.critic, 'critic'),
    params: params(config.params),
    budgets: parseBudgets(config.budgets),
    stop,
    oracle,
    templates: templates(config.templates),
    historyLimit: typeof h === 'number' && Number.isInteger(h) && h >= 1 ? h : null,
    stepThrough: config.stepThrough === true,
    batchSize: typeof b === 'number' && Number.isInteger(b) && b >= 1 && b <= 64 ? b : 8,
    ...(typeof config.adapterId === 'string' && config.adapterId !== '' ? { adapterId: config.adapterId } : {}),
  };
}
