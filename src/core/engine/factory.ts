/**
 * Builds a ChatEngine from an engine spec. The engine comes back unloaded: call
 * `engine.load(specModelId(spec), { onProgress, signal })` next.
 */
import { AppError } from '../errors.ts';
import { OpenAICompatibleEngine } from './openai/engine.ts';
import type { Endpoint } from './protocol.ts';
import { parseEngineSpec, type EngineSpec, type TfjsEngineSpec } from './spec.ts';
import type { ChatEngine } from './types.ts';
import { WebLlmEngine } from './webllm/engine.ts';
import { spawnWebLlmWorker } from './webllm/spawn.ts';

export interface EngineFactoryDeps {
  /** Starts the web-llm worker; default: workers/webllm.worker.ts as a module worker. */
  spawnWebLlmWorker?: () => Endpoint;
  /** fetch for the OpenAI-compatible engine; default: the global one. */
  fetch?: typeof fetch;
  /**
   * Extension point for the tfjs engine (runtime + trainer in a worker), which lives in its own room. Until
   * it is registered here, a tfjs spec fails with AppError('unsupported') rather than pretending to work.
   */
  createTfjsEngine?: (spec: TfjsEngineSpec) => ChatEngine;
}

export function createEngine(spec: EngineSpec, deps: EngineFactoryDeps = {}): ChatEngine {
  const s = parseEngineSpec(spec); // specs come from storage and forms: check them again
  switch (s.kind) {
    case 'webllm':
      return new WebLlmEngine({ spawn: deps.spawnWebLlmWorker ?? spawnWebLlmWorker });
    case 'openai':
      return new OpenAICompatibleEngine({ baseUrl: s.baseUrl, model: s.model, apiKey: s.apiKey, fetch: deps.fetch });
    case 'tfjs':
      if (!deps.createTfjsEngine) {
        throw new AppError(
          'unsupported',
          'The tfjs engine is not wired into this build yet. Use the web-llm engine or an OpenAI-compatible endpoint for now.',
        );
      }
      return deps.createTfjsEngine(s);
  }
}
