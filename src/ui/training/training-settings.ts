/**
 * The Training tab's form, kept in the experiment's settings under `training` (exported with it):
 *   settings.training = { method, name, fromAdapterId, form: TrainForm }
 * Defaults follow the model (train-form.ts); unusable stored values fall back to them.
 */
import type { JsonObject } from '../../db/types.ts';
import { formToConfig, trainFormFor, type TrainForm } from './train-form.ts';
import { obj } from '../lib/stored-json.ts';

export interface TrainingSettings {
  method: 'sft' | 'dpo';
  name: string;
  fromAdapterId: string | null;
  form: TrainForm;
}

export function defaultTrainingSettings(modelId: string | null): TrainingSettings {
  return { method: 'sft', name: 'My adapter', fromAdapterId: null, form: trainFormFor(modelId) };
}

export function readTrainingSettings(settings: JsonObject, modelId: string | null): TrainingSettings {
  const d = defaultTrainingSettings(modelId);
  const o = obj(settings.training);
  if (!o) return d;
  const form = { ...d.form, ...(obj(o.form) as Partial<TrainForm> | null) };
  try {
    formToConfig(form);
  } catch {
    return d;
  }
  return {
    method: o.method === 'dpo' ? 'dpo' : 'sft',
    name: typeof o.name === 'string' && o.name.trim() !== '' ? o.name : d.name,
    fromAdapterId: typeof o.fromAdapterId === 'string' ? o.fromAdapterId : null,
    form,
  };
}

export function writeTrainingSettings(settings: JsonObject, t: TrainingSettings): JsonObject {
  formToConfig(t.form);
  return { ...settings, training: JSON.parse(JSON.stringify(t)) as JsonObject };
}
