/**
 * The training form: what a person edits (flat fields, layers as text) ↔ the tfjs trainer's config
 * (`TfjsTrainConfig`), with defaults per model and a check that names the first bad field before anything
 * starts. The toy model's defaults are the settings of its SELF experiment (src/core/toy/self-train.ts).
 */
import { AppError } from '../../core/errors.ts';
import type { TfjsTrainConfig } from '../../core/engine/tfjs/api.ts';
import { DEFAULT_TRAIN_CONFIG, validateTrainConfig } from '../../core/engine/tfjs/train-config.ts';
import { PROJECTIONS, type Projection } from '../../core/model/types.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../../core/toy/self-train.ts';
import type { JsonObject } from '../../db/types.ts';

export type TrainMethodChoice = 'sft' | 'dpo';

/** The trainer's settings as a person edits them: LoRA fields flat, layers as text, a length choice. */
export interface TrainForm extends Omit<TfjsTrainConfig, 'lora' | 'steps' | 'groupByLength'> {
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targetModules: Projection[];
  /** Layer numbers, comma-separated ("0, 2, 3"); empty = every layer. */
  layers: string;
  /** Train for a number of epochs, or a fixed number of optimizer steps. */
  length: 'epochs' | 'steps';
  steps: number;
  /** Batch rows of similar length together (train/batches.ts); on by default in the forms. */
  groupByLength: boolean;
}

export const TOY_MODEL = 'toy-arith';

/**
 * Checkpoints of a Training-tab run: every 50 steps or 10 s of training, whichever comes first, so a reload
 * loses at most about 10 s of work whatever the model's speed.
 */
export const DEFAULT_CHECKPOINTS = { checkpointEvery: 50, checkpointSeconds: 10 } as const;

/**
 * The trainer's general defaults (PEFT/TRL habits), with the default checkpoints and rows batched by length (SELF
 * and SRT mix short answers with long feedback chats; for rows of one length it changes nothing).
 */
export function defaultTrainForm(): TrainForm {
  return configToForm({ ...DEFAULT_TRAIN_CONFIG, ...DEFAULT_CHECKPOINTS, groupByLength: true });
}

/** The SELF-round settings of the toy model (src/core/toy/self-train.ts), without checkpoints. */
export function toyTrainForm(seed = 0): TrainForm {
  return { ...configToForm(toySelfTrainConfig(TOY_SELF_TRAIN, seed)), checkpointEvery: 0, checkpointSeconds: 0 };
}

/** Defaults for a model: the toy model's own, else the general ones; both with the default checkpoints. */
export function trainFormFor(modelId: string | null): TrainForm {
  return modelId === TOY_MODEL ? { ...toyTrainForm(), ...DEFAULT_CHECKPOINTS } : defaultTrainForm();
}

export function configToForm(c: TfjsTrainConfig): TrainForm {
  return {
    r: c.lora.r,
    alpha: c.lora.alpha,
    dropout: c.lora.dropout,
    rslora: c.lora.rslora,
    targetModules: [...c.lora.targetModules],
    layers: c.lora.layers ? c.lora.layers.join(', ') : '',
    lr: c.lr,
    length: c.steps === null ? 'epochs' : 'steps',
    epochs: c.epochs,
    steps: c.steps ?? 100,
    batchSize: c.batchSize,
    gradAccum: c.gradAccum,
    optimizer: c.optimizer,
    weightDecay: c.weightDecay,
    schedule: c.schedule,
    warmupSteps: c.warmupSteps,
    clip: c.clip,
    seqLen: c.seqLen,
    seed: c.seed,
    beta: c.beta,
    checkpointEvery: c.checkpointEvery,
    checkpointSeconds: c.checkpointSeconds,
    // A stored config without the field trained on random batches; it reads back as such.
    groupByLength: c.groupByLength === true,
    ...(c.rpoAlpha !== undefined ? { rpoAlpha: c.rpoAlpha } : {}),
  };
}

function bad(field: string, problem: string): never {
  throw new AppError('bad-input', `Training setting "${field}": ${problem}.`);
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, 'enter a number');
  return v;
}

/** "0, 2,3" → [0, 2, 3]; "" → null (every layer). Checked against the model's layer count when known. */
export function parseLayers(text: string, layerCount: number | null = null): number[] | null {
  const t = text.trim();
  if (t === '') return null;
  const parts = t.split(/[\s,]+/).filter((p) => p !== '');
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) bad('layers', `"${p}" is not a layer number (write e.g. "0, 1, 3", or leave it empty for every layer)`);
    const n = Number(p);
    if (layerCount !== null && n >= layerCount) bad('layers', `the model has layers 0 to ${layerCount - 1}, not ${n}`);
    if (!out.includes(n)) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The form as a trainer config; throws AppError('bad-input') naming the first bad field. `layerCount` (the
 * loaded model's) lets the layer list be checked before training starts.
 */
export function formToConfig(f: TrainForm, layerCount: number | null = null): TfjsTrainConfig {
  const r = num(f.r, 'LoRA rank r');
  if (!Number.isInteger(r) || r < 1 || r > 256) bad('LoRA rank r', `must be a whole number from 1 to 256, got ${r}`);
  const alpha = num(f.alpha, 'LoRA alpha');
  if (!Number.isInteger(alpha) || alpha < 1) bad('LoRA alpha', `must be a whole number ≥ 1 (PEFT stores it as an integer), got ${alpha}`);
  const dropout = num(f.dropout, 'LoRA dropout');
  if (!(dropout >= 0 && dropout < 1)) bad('LoRA dropout', `must be at least 0 and below 1, got ${dropout}`);
  if (f.targetModules.length === 0) bad('target modules', 'tick at least one projection');
  for (const m of f.targetModules) if (!(PROJECTIONS as readonly string[]).includes(m)) bad('target modules', `unknown projection "${m}"`);
  const lr = num(f.lr, 'learning rate');
  if (!(lr > 0 && lr <= 1)) bad('learning rate', `must be above 0 and at most 1, got ${lr}`);
  const config: TfjsTrainConfig = {
    lora: { r, alpha, dropout, rslora: f.rslora === true, targetModules: PROJECTIONS.filter((p) => f.targetModules.includes(p)), layers: parseLayers(f.layers, layerCount) },
    lr,
    steps: f.length === 'steps' ? num(f.steps, 'steps') : null,
    epochs: num(f.epochs, 'epochs'),
    batchSize: num(f.batchSize, 'batch size'),
    gradAccum: num(f.gradAccum, 'gradient accumulation'),
    optimizer: f.optimizer,
    weightDecay: num(f.weightDecay, 'weight decay'),
    schedule: f.schedule,
    warmupSteps: num(f.warmupSteps, 'warm-up steps'),
    clip: num(f.clip, 'gradient clipping'),
    seqLen: num(f.seqLen, 'sequence length'),
    seed: num(f.seed, 'seed'),
    beta: num(f.beta, 'DPO beta'),
    checkpointEvery: num(f.checkpointEvery, 'checkpoint every'),
    checkpointSeconds: num(f.checkpointSeconds, 'checkpoint every (seconds)'),
    ...(f.groupByLength === true ? { groupByLength: true } : {}),
    ...(f.rpoAlpha !== undefined ? { rpoAlpha: num(f.rpoAlpha, 'RPO NLL weight') } : {}),
  };
  if (config.steps !== null && config.steps > 100_000) bad('steps', `at most 100000, got ${config.steps}`);
  if (config.epochs > 100) bad('epochs', `at most 100, got ${config.epochs}`);
  if (config.batchSize > 256) bad('batch size', `at most 256, got ${config.batchSize}`);
  if (config.seqLen > 8192) bad('sequence length', `at most 8192 tokens, got ${config.seqLen}`);
  validateTrainConfig(config);
  return config;
}

/** A config as plain JSON (for run rows). */
export function configJson(c: TfjsTrainConfig): JsonObject {
  return { ...c, lora: { ...c.lora, targetModules: [...c.lora.targetModules], layers: c.lora.layers ? [...c.lora.layers] : null } };
}

/** Reads a stored config back (a run row may come from a bundle): the form check applies. */
export function parseConfigJson(v: unknown): TfjsTrainConfig {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const lora = o && typeof o.lora === 'object' && o.lora !== null ? (o.lora as Record<string, unknown>) : null;
  if (!o || !lora) throw new AppError('bad-input', 'The stored training settings are missing or unreadable.');
  const c = { ...DEFAULT_TRAIN_CONFIG, ...o, lora: { ...DEFAULT_TRAIN_CONFIG.lora, ...lora } } as TfjsTrainConfig;
  return formToConfig(configToForm({ ...c, lora: { ...c.lora, targetModules: Array.isArray(c.lora.targetModules) ? c.lora.targetModules : [], layers: Array.isArray(c.lora.layers) ? c.lora.layers : null } }));
}
