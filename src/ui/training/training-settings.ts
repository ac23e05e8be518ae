/**
 * The Training tab's form, kept in the experiment's settings under `training` (exported with it):
 *   settings.training = { method, name, fromAdapterId, form: TrainForm }
 * Defaults follow the model (train-form.ts); unusable stored values fall back to them, and the tab says which.
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

/** The stored settings, or defaults for what cannot be used, with the reasons (shown on the tab). */
export function readTrainingSettings(settings: JsonObject, modelId: string | null): { value: TrainingSettings; problem: string | null } {
  const d = defaultTrainingSettings(modelId);
  if (settings.training === undefined || settings.training === null) return { value: d, problem: null };
  const whole = (why: string) => ({ value: d, problem: `The stored training settings could not be used (${why}); showing the defaults.` });
  const o = obj(settings.training);
  if (!o) return whole('they are not an object');
  const form = { ...d.form, ...(obj(o.form) as Partial<TrainForm> | null) };
  try {
    formToConfig(form);
  } catch (e) {
    return whole(e instanceof Error ? e.message : String(e));
  }
  const why: string[] = [];
  if (o.method !== undefined && o.method !== 'sft' && o.method !== 'dpo') why.push(`unknown method ${JSON.stringify(o.method)}`);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.trim() === '')) why.push('the adapter name is empty');
  if (o.fromAdapterId !== undefined && o.fromAdapterId !== null && typeof o.fromAdapterId !== 'string') why.push('the starting adapter is not an id');
  const value: TrainingSettings = {
    method: o.method === 'dpo' ? 'dpo' : 'sft',
    name: typeof o.name === 'string' && o.name.trim() !== '' ? o.name : d.name,
    fromAdapterId: typeof o.fromAdapterId === 'string' ? o.fromAdapterId : null,
    form,
  };
  return { value, problem: why.length ? `Some stored training settings could not be used (${why.join('; ')}); showing the defaults for them.` : null };
}

export function writeTrainingSettings(settings: JsonObject, t: TrainingSettings): JsonObject {
  formToConfig(t.form);
  return { ...settings, training: JSON.parse(JSON.stringify(t)) as JsonObject };
}
