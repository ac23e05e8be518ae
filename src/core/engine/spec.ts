/**
 * Which engine to build, as plain data the UI stores per experiment (actor and critic). parseEngineSpec
 * checks data from storage or a form and says what is wrong. The API key of an `openai` spec is the user's
 * secret: keep it in this browser only, and never put it in exports (describeSpec leaves it out).
 */
import { AppError } from '../errors.ts';

export type TfjsBackendChoice = 'auto' | 'webgpu' | 'wasm';

export interface WebLlmEngineSpec {
  kind: 'webllm';
  /** A catalog id ('qwen2.5-0.5b') or an exact web-llm id. */
  modelId: string;
}

export interface OpenAIEngineSpec {
  kind: 'openai';
  baseUrl: string;
  model: string;
  apiKey: string;
}

/** The tfjs engine (runtime + trainer in a worker); wired into createEngine through EngineFactoryDeps. */
export interface TfjsEngineSpec {
  kind: 'tfjs';
  /** A catalog id, a hub repo ('org/name') or a path served by the app. */
  modelId: string;
  /** 'auto' picks webgpu on a hardware adapter and wasm otherwise. */
  backend: TfjsBackendChoice;
}

export type EngineSpec = WebLlmEngineSpec | OpenAIEngineSpec | TfjsEngineSpec;

function str(o: Record<string, unknown>, key: string, what: string, allowEmpty = false): string {
  const v = o[key];
  if (typeof v !== 'string' || (!allowEmpty && v.trim() === '')) {
    throw new AppError('bad-input', `The engine settings need ${what} (field "${key}").`);
  }
  return v.trim();
}

export function parseEngineSpec(input: unknown): EngineSpec {
  if (typeof input !== 'object' || input === null) {
    throw new AppError('bad-input', 'The engine settings are missing. Pick an engine: webllm, tfjs or openai.');
  }
  const o = Object.fromEntries(Object.entries(input));
  switch (o.kind) {
    case 'webllm':
      return { kind: 'webllm', modelId: str(o, 'modelId', 'a model') };
    case 'openai': {
      const baseUrl = str(o, 'baseUrl', 'the endpoint base URL');
      if (!/^https?:\/\//i.test(baseUrl)) {
        throw new AppError('bad-input', `The endpoint base URL must start with http:// or https:// (got "${baseUrl}").`);
      }
      return { kind: 'openai', baseUrl, model: str(o, 'model', 'a model name'), apiKey: str(o, 'apiKey', 'an API key (may be empty)', true) };
    }
    case 'tfjs': {
      const backend = o.backend ?? 'auto';
      if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'wasm') {
        throw new AppError('bad-input', `The tfjs backend must be auto, webgpu or wasm (got "${String(backend)}").`);
      }
      return { kind: 'tfjs', modelId: str(o, 'modelId', 'a model'), backend };
    }
    default:
      throw new AppError('bad-input', `Unknown engine "${String(o.kind)}". Pick webllm, tfjs or openai.`);
  }
}

/** The id to pass to `engine.load()` for this spec. */
export function specModelId(spec: EngineSpec): string {
  return spec.kind === 'openai' ? spec.model : spec.modelId;
}

/** A label for people and logs; never contains the API key. */
export function describeSpec(spec: EngineSpec): string {
  switch (spec.kind) {
    case 'webllm':
      return `web-llm · ${spec.modelId}`;
    case 'openai':
      return `${spec.model} at ${spec.baseUrl}`;
    case 'tfjs':
      return `tfjs (${spec.backend}) · ${spec.modelId}`;
  }
}
