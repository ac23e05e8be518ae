/**
 * Training settings: defaults (those of `lm train`, which follow PEFT/TRL habits: r 8, alpha 16 on q/v,
 * AdamW at 2e-4, batch 4, 512 tokens) and a check that names the first bad field.
 */
import { AppError } from '../../errors.ts';
import type { LoraConfig } from '../../lora/types.ts';
import type { TfjsTrainConfig } from './api.ts';

export const DEFAULT_LORA: LoraConfig = { r: 8, alpha: 16, dropout: 0, rslora: false, targetModules: ['q_proj', 'v_proj'], layers: null };

export const DEFAULT_TRAIN_CONFIG: TfjsTrainConfig = {
  lora: DEFAULT_LORA,
  lr: 2e-4,
  steps: null,
  epochs: 1,
  batchSize: 4,
  gradAccum: 1,
  optimizer: 'adamw',
  weightDecay: 0,
  schedule: 'constant',
  warmupSteps: 0,
  clip: 0,
  seqLen: 512,
  seed: 0,
  beta: 0.1,
  checkpointEvery: 0,
  checkpointSeconds: 0,
};

/** The defaults with some fields replaced (`lora` merged field by field). */
export function trainConfig(overrides: Partial<Omit<TfjsTrainConfig, 'lora'>> & { lora?: Partial<LoraConfig> } = {}): TfjsTrainConfig {
  const { lora, ...rest } = overrides;
  return { ...DEFAULT_TRAIN_CONFIG, ...rest, lora: { ...DEFAULT_LORA, ...lora, targetModules: [...(lora?.targetModules ?? DEFAULT_LORA.targetModules)] } };
}

/** Throws AppError('bad-input') for the first setting that cannot train. LoRA fields are checked against the model later. */
export function validateTrainConfig(c: TfjsTrainConfig): void {
  const bad = (field: string, problem: string): never => {
    throw new AppError('bad-input', `Training setting ${field}: ${problem}.`);
  };
  const int = (field: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min) bad(field, `must be a whole number ≥ ${min}, got ${v}`);
  };
  if (!(c.lr >= 0) || !Number.isFinite(c.lr)) bad('lr', `must be a finite number ≥ 0, got ${c.lr}`);
  if (c.steps !== null) int('steps', c.steps, 1);
  if (c.steps === null && !(c.epochs > 0 && Number.isFinite(c.epochs))) bad('epochs', `must be a positive number, got ${c.epochs}`);
  int('batchSize', c.batchSize, 1);
  int('gradAccum', c.gradAccum, 1);
  if (c.optimizer !== 'adamw' && c.optimizer !== 'sgd') bad('optimizer', `must be adamw or sgd, got "${String(c.optimizer)}"`);
  if (!(c.weightDecay >= 0) || !Number.isFinite(c.weightDecay)) bad('weightDecay', `must be ≥ 0, got ${c.weightDecay}`);
  if (!['constant', 'linear', 'cosine'].includes(c.schedule)) bad('schedule', `must be constant, linear or cosine, got "${String(c.schedule)}"`);
  int('warmupSteps', c.warmupSteps, 0);
  if (!(c.clip >= 0) || !Number.isFinite(c.clip)) bad('clip', `must be ≥ 0 (0 = no clipping), got ${c.clip}`);
  int('seqLen', c.seqLen, 2);
  if (!Number.isSafeInteger(c.seed)) bad('seed', `must be a whole number, got ${c.seed}`);
  if (!(c.beta > 0) || !Number.isFinite(c.beta)) bad('beta', `must be positive, got ${c.beta}`);
  if (c.rpoAlpha !== undefined && !(c.rpoAlpha >= 0 && Number.isFinite(c.rpoAlpha))) bad('rpoAlpha', `must be a number ≥ 0 (0 = plain DPO), got ${c.rpoAlpha}`);
  int('checkpointEvery', c.checkpointEvery, 0);
  if (!(c.checkpointSeconds >= 0) || !Number.isFinite(c.checkpointSeconds)) bad('checkpointSeconds', `must be a number of seconds ≥ 0 (0 = no time rule), got ${c.checkpointSeconds}`);
  if (c.groupByLength !== undefined && typeof c.groupByLength !== 'boolean') bad('groupByLength', `must be true or false, got ${String(c.groupByLength)}`);
  if (!c.lora || typeof c.lora !== 'object') bad('lora', 'is missing');
}
