/**
 * What a training run row's `config` holds (plain JSON, exported with the experiment):
 *   { method, name, baseModelId, fromAdapterId, adapterId, rowCount, origin, sampleIds?, train }
 * `adapterId` is the id the finished adapter is stored (and known to the engine) under, chosen before the
 * run starts so that a resumed run makes the same adapter; `origin` says what started it (the Training tab,
 * a SELF run or an SRT run); `sampleIds` (Training tab) are the samples it trains on, for a resume.
 */
import { AppError } from '../../core/errors.ts';
import type { TfjsTrainConfig } from '../../core/engine/tfjs/api.ts';
import type { JsonObject } from '../../db/types.ts';
import { configJson, parseConfigJson } from './train-form.ts';

export interface TrainingOrigin {
  kind: 'manual' | 'self' | 'srt';
  /** The SELF / SRT run that trained it. */
  runId: string | null;
}

export interface TrainingRunConfig {
  method: 'sft' | 'dpo';
  name: string;
  baseModelId: string;
  fromAdapterId: string | null;
  adapterId: string;
  rowCount: number;
  origin: TrainingOrigin;
  sampleIds: string[] | null;
  train: TfjsTrainConfig;
}

export function trainingConfigJson(c: TrainingRunConfig): JsonObject {
  return {
    method: c.method,
    name: c.name,
    baseModelId: c.baseModelId,
    fromAdapterId: c.fromAdapterId,
    adapterId: c.adapterId,
    rowCount: c.rowCount,
    origin: { kind: c.origin.kind, runId: c.origin.runId },
    sampleIds: c.sampleIds ? [...c.sampleIds] : null,
    train: configJson(c.train),
  };
}

export function parseTrainingConfig(v: JsonObject): TrainingRunConfig {
  const str = (x: unknown, what: string): string => {
    if (typeof x !== 'string' || x === '') throw new AppError('bad-input', `The stored training run has no ${what}.`);
    return x;
  };
  const origin = typeof v.origin === 'object' && v.origin !== null && !Array.isArray(v.origin) ? (v.origin as Record<string, unknown>) : {};
  const ids = v.sampleIds;
  return {
    method: v.method === 'dpo' ? 'dpo' : 'sft',
    name: typeof v.name === 'string' ? v.name : 'adapter',
    baseModelId: str(v.baseModelId, 'base model'),
    fromAdapterId: typeof v.fromAdapterId === 'string' ? v.fromAdapterId : null,
    adapterId: str(v.adapterId, 'adapter id'),
    rowCount: typeof v.rowCount === 'number' ? v.rowCount : 0,
    origin: { kind: origin.kind === 'self' || origin.kind === 'srt' ? origin.kind : 'manual', runId: typeof origin.runId === 'string' ? origin.runId : null },
    sampleIds: Array.isArray(ids) && ids.every((x) => typeof x === 'string') ? (ids as string[]) : null,
    train: parseConfigJson(v.train),
  };
}
