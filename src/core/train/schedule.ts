/**
 * Learning-rate schedules as pure functions of the optimizer step, with the semantics of transformers'
 * get_{constant,linear,cosine}_schedule_with_warmup: the rate used for step s (0-based, the s-th update) is
 * baseLr · factor(s), where during warmup factor(s) = s / warmup (so the very first update has rate 0 when
 * there is warmup), then constant, or falls linearly to 0 at totalSteps, or follows a half cosine to 0.
 */
import { AppError } from '../errors.ts';

export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface ScheduleOptions {
  kind: ScheduleKind;
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Cosine only: number of cosine periods over the decay (default 0.5: one half-wave down to 0). */
  numCycles?: number;
}

export function validateSchedule(o: ScheduleOptions): void {
  if (!(o.baseLr >= 0) || !Number.isFinite(o.baseLr)) throw new AppError('bad-input', `The learning rate must be a finite number ≥ 0, got ${o.baseLr}.`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) throw new AppError('bad-input', `Warmup steps must be an integer ≥ 0, got ${o.warmupSteps}.`);
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) throw new AppError('bad-input', `Total steps must be a positive integer, got ${o.totalSteps}.`);
  if (!['constant', 'linear', 'cosine'].includes(o.kind)) throw new AppError('bad-input', `Unknown schedule "${o.kind}"; use constant, linear or cosine.`);
}

/** The multiplier of baseLr at optimizer step `step` (0-based). */
export function lrFactor(o: Omit<ScheduleOptions, 'baseLr'>, step: number): number {
  const { warmupSteps: w, totalSteps: total } = o;
  if (step < w) return step / Math.max(1, w);
  switch (o.kind) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (total - step) / Math.max(1, total - w));
    case 'cosine': {
      const progress = (step - w) / Math.max(1, total - w);
      const cycles = o.numCycles ?? 0.5;
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
    }
  }
}

export function learningRate(o: ScheduleOptions, step: number): number {
  return o.baseLr * lrFactor(o, step);
}

/** A validated schedule as a function of the step. */
export function makeSchedule(o: ScheduleOptions): (step: number) => number {
  validateSchedule(o);
  return (step) => learningRate(o, step);
}
