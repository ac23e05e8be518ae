/** The web-llm engine's worker: hosts web-llm's MLCEngine behind our typed protocol (src/core/engine/webllm). */
import { MLCEngine, deleteModelAllInfoInCache, hasModelInCache, prebuiltAppConfig } from '@mlc-ai/web-llm';
import type { Endpoint } from '../src/core/engine/protocol.ts';
import { serveWebLlm } from '../src/core/engine/webllm/host.ts';

// The worker's global scope is the endpoint (typed as Window under the DOM lib this project compiles with).
const scope = self as unknown as Endpoint;

serveWebLlm(scope, {
  createEngine: () => new MLCEngine(),
  prebuiltAppConfig,
  hasModelInCache,
  deleteModelAllInfoInCache,
  gpu: navigator.gpu,
  caches: typeof caches === 'undefined' ? undefined : caches,
});
