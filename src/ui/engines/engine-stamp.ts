/**
 * The engine and model a stored run used (never a key or an endpoint URL): written into every run's config
 * (Self-Refine, SELF, SRT, evaluation) and read back with validation, since a run row may come from an
 * imported bundle.
 */
import { AppError } from '../../core/errors.ts';
import { ENGINE_KINDS, type ChatEngine, type EngineKind } from '../../core/engine/types.ts';
import { obj } from '../lib/stored-json.ts';

export interface EngineStamp {
  kind: EngineKind;
  modelId: string;
  label: string;
}

/** The stamp of a loaded engine; `bad-input` when it has no model. */
export function engineStamp(engine: ChatEngine, label: string): EngineStamp {
  if (engine.modelId === null) throw new AppError('bad-input', 'The engine has no model loaded. Load a model first.');
  return { kind: engine.kind, modelId: engine.modelId, label };
}

/** An engine stamp read back from a stored run config; `bad-input` naming the role when it is missing. */
export function storedStamp(v: unknown, role: string): EngineStamp {
  const o = obj(v);
  if (!o || typeof o.kind !== 'string' || !(ENGINE_KINDS as readonly string[]).includes(o.kind) || typeof o.modelId !== 'string') {
    throw new AppError('bad-input', `The stored run does not say which ${role} engine it used.`);
  }
  return { kind: o.kind as EngineKind, modelId: o.modelId, label: typeof o.label === 'string' ? o.label : o.modelId };
}
