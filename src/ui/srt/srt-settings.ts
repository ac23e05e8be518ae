/**
 * The SRT settings of an experiment, kept in its settings under `srt`:
 *   settings.srt = { perRound, evalCount, critiqueRounds, filter, sftShapes, dpo, evaluate,
 *                    answerTokens, feedbackTokens, batchSize, sft: TrainForm, dpoTrain: TrainForm, startAdapterId }
 * The critic is the critic slot of the engine setup (a larger web-llm model, the tfjs model, or an endpoint).
 * Token budgets are null unless the person sets them: each task kind then answers with its own.
 */
import { AppError } from '../../core/errors.ts';
import { KIND_DEFAULT } from '../../core/refine/budgets.ts';
import { intOrKind } from '../lib/token-fields.ts';
import type { JsonObject } from '../../db/types.ts';
import { TOY_SELF_TRAIN, toySrtDpoConfig } from '../../core/toy/self-train.ts';
import { configToForm, formToConfig, trainFormFor, type TrainForm } from '../training/train-form.ts';
import { obj } from '../lib/stored-json.ts';

export interface SrtSettings {
  /** Train-split prompts the critic reviews (0 = all). */
  perRound: number;
  /** Held-out prompts for the evaluation (0 = all). */
  evalCount: number;
  /** Critique-and-refine rounds per answer. */
  critiqueRounds: number;
  /** Train only on loops the critic's refinement improved. */
  requireImproved: boolean;
  /**
   * SFT rows: the critic's feedback then refinement, as one row ('meta') or as its feedback and refine calls
   * ('step-chats'), or the refinement alone ('refine-only', SRT's ablation); optionally prompt → refinement ('sft').
   */
  sftShapes: SrtShape[];
  dpo: boolean;
  evaluate: boolean;
  /** The actor's drafts and the critic's refinements (null = each task kind's own budget). */
  answerTokens: number | null;
  /** The critic's feedback (null = each task kind's own budget). */
  feedbackTokens: number | null;
  batchSize: number;
  sft: TrainForm;
  dpoTrain: TrainForm;
  startAdapterId: string | null;
}

export type SrtShape = 'meta' | 'step-chats' | 'refine-only' | 'sft';
/** The main SFT row shape (one of them), and what the SRT tab calls it. */
export const SRT_MAIN_SHAPES: readonly { shape: Exclude<SrtShape, 'sft'>; label: string }[] = [
  { shape: 'meta', label: 'Feedback then refinement, as one row' },
  { shape: 'step-chats', label: "Feedback then refinement, as the critic's feedback and refine calls" },
  { shape: 'refine-only', label: 'Refinement only, without the feedback text (SRT ablation)' },
];
const SHAPES: readonly string[] = ['meta', 'step-chats', 'refine-only', 'sft'];

export function defaultSrtSettings(modelId: string | null): SrtSettings {
  const toy = modelId === 'toy-arith';
  const sft = trainFormFor(modelId);
  return {
    // The toy experiment's settings (src/core/toy/srt-experiment.ts, srt-run in the README).
    perRound: toy ? 200 : 20,
    evalCount: toy ? 200 : 20,
    critiqueRounds: 1,
    requireImproved: true,
    sftShapes: [toy ? 'step-chats' : 'meta'],
    dpo: true,
    evaluate: true,
    ...KIND_DEFAULT,
    batchSize: toy ? 50 : 8,
    // The meta rows hold a whole feedback: the toy model's context (256) rather than its 64-token SELF rows.
    sft: toy ? { ...sft, seqLen: 256, batchSize: 8 } : sft,
    // The toy DPO settings of the bench's SRT experiment (src/core/toy/srt-experiment.ts).
    dpoTrain: toy ? configToForm(toySrtDpoConfig(TOY_SELF_TRAIN, 0)) : { ...sft, lr: sft.lr / 2, beta: 0.1 },
    startAdapterId: null,
  };
}

function int(v: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new AppError('bad-input', `SRT setting "${name}" must be a whole number from ${min} to ${max} (got ${v}).`);
}

export function validateSrtSettings(s: SrtSettings, layerCount: number | null = null): void {
  int(s.perRound, 'prompts', 0, 100_000);
  int(s.evalCount, 'held-out prompts', 0, 100_000);
  int(s.critiqueRounds, 'critique rounds', 1, 10);
  intOrKind(s.answerTokens, 'SRT', 'answer tokens');
  intOrKind(s.feedbackTokens, 'SRT', 'critic tokens');
  int(s.batchSize, 'batch size', 1, 512);
  if (s.sftShapes.length === 0) throw new AppError('bad-input', 'Pick at least one SFT row shape.');
  formToConfig(s.sft, layerCount);
  formToConfig(s.dpoTrain, layerCount);
}

export function readSrtSettings(settings: JsonObject, modelId: string | null): { value: SrtSettings; problem: string | null } {
  const d = defaultSrtSettings(modelId);
  const o = obj(settings.srt);
  if (!o) return { value: d, problem: null };
  const v: SrtSettings = {
    ...d,
    ...(o as Partial<SrtSettings>),
    sft: { ...d.sft, ...(obj(o.sft) as Partial<TrainForm> | null) },
    dpoTrain: { ...d.dpoTrain, ...(obj(o.dpoTrain) as Partial<TrainForm> | null) },
    sftShapes: Array.isArray(o.sftShapes) ? (o.sftShapes.filter((x) => typeof x === 'string' && SHAPES.includes(x)) as SrtShape[]) : d.sftShapes,
  };
  try {
    validateSrtSettings(v);
    return { value: v, problem: null };
  } catch (e) {
    return { value: d, problem: `The stored SRT settings could not be used (${e instanceof Error ? e.message : String(e)}); showing the defaults.` };
  }
}

export function writeSrtSettings(settings: JsonObject, s: SrtSettings): JsonObject {
  validateSrtSettings(s);
  return { ...settings, srt: JSON.parse(JSON.stringify(s)) as JsonObject };
}
