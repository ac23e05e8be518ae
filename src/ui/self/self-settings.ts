/**
 * The SELF settings of an experiment, kept in its settings under `self` (exported with it), with defaults per
 * model. The toy model's defaults are the settings of its SELF experiment (src/core/toy/self-experiment.ts,
 * TOY_SELF_DEFAULTS; LoRA settings in ../training/train-form.ts): 200 fresh unlabeled questions per round,
 * 200 held-out questions, draft → own feedback → one refinement, keep what the model's own final feedback
 * calls correct, train question → final answer plus its own feedback and refinement calls of the loops it
 * fixed, mix in the toy world's meta-skill corpus, evaluate direct and with self-refinement.
 *
 *   settings.self = {
 *     rounds, perRound, freshPerRound, evalCount, metaSkill, filter, shapes, metaMix, stop,
 *     answerTokens, feedbackTokens, temperature, seed, batchSize,
 *     evaluation: { baseline, selfRefine, judge }, train: TrainForm, startAdapterId
 *   }
 */
import { AppError } from '../../core/errors.ts';
import { KIND_DEFAULT } from '../../core/refine/budgets.ts';
import { intOrKind } from '../lib/token-fields.ts';
import { DEFAULT_STOP_RULES, validateStopRules, type StopRules } from '../../core/refine/plan.ts';
import { TOY_SELF_DEFAULTS } from '../../core/toy/self-experiment.ts';
import type { JsonObject } from '../../db/types.ts';
import { formToConfig, toyTrainForm, trainFormFor, TOY_MODEL, type TrainForm } from '../training/train-form.ts';
import { obj } from '../lib/stored-json.ts';

export type MetaSkillSource = 'off' | 'oracle' | 'critic';
export type JudgeChoice = 'none' | 'critic' | 'actor';
export type SelfShape = 'sft' | 'meta' | 'step-chats';
const SHAPES: readonly string[] = ['sft', 'meta', 'step-chats'];

export interface SelfFilter {
  requireImproved: boolean;
  requireVerdictCorrect: boolean;
  requireOraclePass: boolean;
  minFinalScore: number | null;
}

export interface SelfSettings {
  rounds: number;
  /** Train-split prompts answered per round (0 = all of them). */
  perRound: number;
  /** Each round takes the next prompts of the train split (fresh questions), rather than the same ones. */
  freshPerRound: boolean;
  /** Held-out prompts evaluated (0 = all of the eval split). */
  evalCount: number;
  metaSkill: MetaSkillSource;
  filter: SelfFilter;
  /**
   * Rows trained each round: prompt → final answer ('sft'); 'step-chats' adds the model's own feedback and
   * refinement calls of the loops it fixed; 'meta' adds them as one feedback-then-refinement row.
   */
  shapes: SelfShape[];
  /** Annotator meta-skill chats mixed into each round, for task kinds with a corpus (the toy world). */
  metaMix: { feedback: number; refine: number };
  stop: StopRules;
  /** Drafts and refinements (null = each task kind's own budget, src/core/refine/kinds.ts). */
  answerTokens: number | null;
  /** Feedback (null = each task kind's own budget). */
  feedbackTokens: number | null;
  temperature: number;
  seed: number;
  batchSize: number;
  evaluation: { baseline: boolean; selfRefine: boolean; judge: JudgeChoice };
  train: TrainForm;
  startAdapterId: string | null;
}

export function toySelfSettings(): SelfSettings {
  return {
    rounds: TOY_SELF_DEFAULTS.rounds,
    perRound: TOY_SELF_DEFAULTS.perRound,
    freshPerRound: true,
    evalCount: TOY_SELF_DEFAULTS.evalCount,
    metaSkill: 'off',
    filter: { requireImproved: false, requireVerdictCorrect: TOY_SELF_DEFAULTS.filter.requireVerdictCorrect, requireOraclePass: false, minFinalScore: null },
    shapes: [...TOY_SELF_DEFAULTS.shapes],
    metaMix: { ...TOY_SELF_DEFAULTS.metaMix },
    stop: { ...TOY_SELF_DEFAULTS.stop },
    ...KIND_DEFAULT,
    temperature: 0,
    seed: 0,
    batchSize: TOY_SELF_DEFAULTS.batchSize,
    evaluation: { baseline: true, selfRefine: true, judge: 'none' },
    train: toyTrainForm(),
    startAdapterId: null,
  };
}

export function genericSelfSettings(modelId: string | null): SelfSettings {
  return {
    rounds: 1,
    perRound: 20,
    freshPerRound: true,
    evalCount: 20,
    metaSkill: 'off',
    filter: { requireImproved: false, requireVerdictCorrect: false, requireOraclePass: false, minFinalScore: null },
    shapes: ['sft'],
    metaMix: { feedback: 0, refine: 0 },
    stop: { ...DEFAULT_STOP_RULES, maxRounds: 1 },
    ...KIND_DEFAULT,
    temperature: 0,
    seed: 0,
    batchSize: 8,
    evaluation: { baseline: true, selfRefine: true, judge: 'none' },
    train: trainFormFor(modelId),
    startAdapterId: null,
  };
}

/** The defaults for a model: the toy model's own settings, or general ones. */
export function defaultSelfSettings(modelId: string | null): SelfSettings {
  return modelId === TOY_MODEL ? toySelfSettings() : genericSelfSettings(modelId);
}

function int(v: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new AppError('bad-input', `SELF setting "${name}" must be a whole number from ${min} to ${max} (got ${v}).`);
}

/** Throws AppError('bad-input') naming the first unusable setting. */
export function validateSelfSettings(s: SelfSettings, layerCount: number | null = null): void {
  int(s.rounds, 'rounds', 0, 20);
  int(s.perRound, 'prompts per round', 0, 100_000);
  int(s.evalCount, 'held-out prompts', 0, 100_000);
  intOrKind(s.answerTokens, 'SELF', 'answer tokens');
  intOrKind(s.feedbackTokens, 'SELF', 'feedback tokens');
  int(s.batchSize, 'batch size', 1, 512);
  int(s.seed, 'seed', 0, 0xffffffff);
  if (!(s.temperature >= 0 && s.temperature <= 2)) throw new AppError('bad-input', `SELF setting "temperature" must be between 0 and 2 (got ${s.temperature}).`);
  if (!['off', 'oracle', 'critic'].includes(s.metaSkill)) throw new AppError('bad-input', `Unknown meta-skill source "${s.metaSkill}".`);
  if (s.shapes.length === 0) throw new AppError('bad-input', 'Pick at least one row shape to train on each round.');
  int(s.metaMix.feedback, 'meta-skill feedback chats per round', 0, 100_000);
  int(s.metaMix.refine, 'meta-skill refine chats per round', 0, 100_000);
  const m = s.filter.minFinalScore;
  if (m !== null && !(m >= 1 && m <= 10)) throw new AppError('bad-input', `The minimum final score must be between 1 and 10, or empty (got ${m}).`);
  if (s.rounds === 0 && !s.evaluation.baseline && s.metaSkill === 'off') {
    throw new AppError('bad-input', 'With 0 rounds, no meta-skill stage and no baseline evaluation there is nothing to do.');
  }
  validateStopRules(s.stop);
  formToConfig(s.train, layerCount);
}

/** The stored settings over the defaults for the model; unusable stored values fall back (and are named). */
export function readSelfSettings(settings: JsonObject, modelId: string | null): { value: SelfSettings; problem: string | null } {
  const d = defaultSelfSettings(modelId);
  const o = obj(settings.self);
  if (!o) return { value: d, problem: null };
  const merged: SelfSettings = {
    ...d,
    ...(o as Partial<SelfSettings>),
    filter: { ...d.filter, ...(obj(o.filter) as Partial<SelfFilter> | null) },
    stop: { ...d.stop, ...(obj(o.stop) as Partial<StopRules> | null) },
    evaluation: { ...d.evaluation, ...(obj(o.evaluation) as Partial<SelfSettings['evaluation']> | null) },
    train: { ...d.train, ...(obj(o.train) as Partial<TrainForm> | null) },
    metaMix: { ...d.metaMix, ...(obj(o.metaMix) as Partial<SelfSettings['metaMix']> | null) },
    shapes: Array.isArray(o.shapes) ? (o.shapes.filter((x) => typeof x === 'string' && SHAPES.includes(x)) as SelfShape[]) : d.shapes,
  };
  try {
    validateSelfSettings(merged);
    return { value: merged, problem: null };
  } catch (e) {
    return { value: d, problem: `The stored SELF settings could not be used (${e instanceof Error ? e.message : String(e)}); showing the defaults.` };
  }
}

export function selfSettingsJson(s: SelfSettings): JsonObject {
  return JSON.parse(JSON.stringify(s)) as JsonObject;
}

/** The experiment's settings with the SELF settings written in (other keys untouched). */
export function writeSelfSettings(settings: JsonObject, s: SelfSettings): JsonObject {
  validateSelfSettings(s);
  return { ...settings, self: selfSettingsJson(s) };
}
