/**
 * The Evaluation tab's settings, kept in the experiment's settings under `evaluation`:
 *   settings.evaluation = { adapterId, baseAdapterId, evalCount, selfRefine, judge, answerTokens, feedbackTokens,
 *                           maxRefinements, batchSize }
 * Token budgets are null unless the person sets them: each task kind then answers with its own
 * (src/core/refine/kinds.ts, budgets.ts).
 */
import { AppError } from '../../core/errors.ts';
import { KIND_DEFAULT } from '../../core/refine/budgets.ts';
import { intOrKind } from '../lib/token-fields.ts';
import type { JsonObject } from '../../db/types.ts';

export type JudgeSource = 'none' | 'critic' | 'actor';

export interface EvalSettings {
  /** The adapter under test (null = the base model only). */
  adapterId: string | null;
  /** What it is compared with (null = the base model). */
  baseAdapterId: string | null;
  /** Held-out prompts (0 = the whole eval split). */
  evalCount: number;
  /** Also answer with inference-time self-refinement. */
  selfRefine: boolean;
  /** Judge of open-ended prompts (pairwise, both orders). */
  judge: JudgeSource;
  /** null = each task kind's own budget. */
  answerTokens: number | null;
  feedbackTokens: number | null;
  maxRefinements: number;
  batchSize: number;
}

export function defaultEvalSettings(modelId: string | null): EvalSettings {
  const toy = modelId === 'toy-arith';
  return {
    adapterId: null,
    baseAdapterId: null,
    evalCount: toy ? 200 : 20,
    selfRefine: true,
    judge: 'none',
    ...KIND_DEFAULT,
    maxRefinements: 1,
    batchSize: toy ? 100 : 8,
  };
}

function int(v: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new AppError('bad-input', `Evaluation setting "${name}" must be a whole number from ${min} to ${max} (got ${v}).`);
}

export function validateEvalSettings(s: EvalSettings): void {
  int(s.evalCount, 'held-out prompts', 0, 100_000);
  intOrKind(s.answerTokens, 'Evaluation', 'answer tokens');
  intOrKind(s.feedbackTokens, 'Evaluation', 'feedback tokens');
  int(s.maxRefinements, 'refinements', 0, 10);
  int(s.batchSize, 'batch size', 1, 512);
  if (!['none', 'critic', 'actor'].includes(s.judge)) throw new AppError('bad-input', `Unknown judge "${s.judge}".`);
}

/** The stored settings, or the defaults with the reason when they cannot be used (shown on the tab). */
export function readEvalSettings(settings: JsonObject, modelId: string | null): { value: EvalSettings; problem: string | null } {
  const d = defaultEvalSettings(modelId);
  const o = settings.evaluation;
  if (o === undefined || o === null) return { value: d, problem: null };
  const unusable = (why: string) => ({ value: d, problem: `The stored evaluation settings could not be used (${why}); showing the defaults.` });
  if (typeof o !== 'object' || Array.isArray(o)) return unusable('they are not an object');
  const v = { ...d, ...(o as Partial<EvalSettings>) };
  try {
    validateEvalSettings(v);
    return { value: v, problem: null };
  } catch (e) {
    return unusable(e instanceof Error ? e.message : String(e));
  }
}

export function writeEvalSettings(settings: JsonObject, s: EvalSettings): JsonObject {
  validateEvalSettings(s);
  return { ...settings, evaluation: JSON.parse(JSON.stringify(s)) as JsonObject };
}
