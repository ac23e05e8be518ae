/**
 * Builds a ChatEngine from an engine spec. The engine comes back unloaded: call
 * `engine.load(specModelId(spec), { onProgress, signal })` next. A tfjs spec gets the tfjs worker engine
 * (runtime + trainer in workers/tfjs.worker.ts), its model found by resolveTfjsSource.
 */
import { OpenAICompatibleEngine } from './openai/engine.ts';
import type { Endpoint } from './protocol.ts';
import { parseEngineSpec, type EngineSpec, type TfjsEngineSpec } from './spec.ts';
import { resolveTfjsSource } from './tfjs/source-resolve.ts';
import { TfjsWorkerEngine } from './tfjs/worker-engine.ts';
import type { ChatEngine } from './types.ts';
import { WebLlmEngine } from './webllm/engine.ts';
import { spawnWebLlmWorker } from './webllm/spawn.ts';

export interface EngineFactoryDeps {
  /** Starts the web-llm worker; default: workers/webllm.worker.ts as a module worker. */
  spawnWebLlmWorker?: () => Endpoint;
  /** fetch for the OpenAI-compatible engine; default: the global one. */
  fetch?: typeof fetch;
  /** Builds the tfjs engine; default: a TfjsWorkerEngine on workers/tfjs.worker.ts. */
  createTfjsEngine?: (spec: TfjsEngineSpec) => ChatEngine;
  /** The page's address, against which app paths such as /models/toy-arith resolve (default: location.href). */
  baseHref?: string;
  /** Hugging Face hub (or a mirror) for repo ids; default https://huggingface.co. */
  hubUrl?: string;
}

function defaultTfjsEngine(spec: TfjsEngineSpec, deps: EngineFactoryDeps): ChatEngine {
  const baseHref = deps.baseHref ?? (globalThis as { location?: { href?: string } }).location?.href;
  return new TfjsWorkerEngine({ backend: spec.backend, source: (id) => resolveTfjsSource(id, baseHref, deps.hubUrl) });
}

export function createEngine(spec: EngineSpec, deps: EngineFactoryDeps = {}): ChatEngine {
  const s = parseEngineSpec(spec); // specs come from storage and forms: check them again
  switch (s.kind) {
    case 'webllm':
      return new WebLlmEngine({ spawn: deps.spawnWebLlmWorker ?? spawnWebLlmWorker });
    case 'openai':
      return new OpenAICompatibleEngine({ baseUrl: s.baseUrl, model: s.model, apiKey: s.apiKey, fetch: deps.fetch });
    case 'tfjs':
      return deps.createTfjsEngine ? deps.createTfjsEngine(s) : defaultTfjsEngine(s, deps);
  }
}
