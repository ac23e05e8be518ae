/** The evolve worker: merges an adapter into a cached web-llm model and stores the result (src/core/engine/webllm/evolve-host.ts). */
import type { Endpoint } from '../src/core/engine/protocol.ts';
import { serveEvolve } from '../src/core/engine/webllm/evolve-host.ts';

// The worker's global scope is the endpoint (typed as Window under the DOM lib this project compiles with).
serveEvolve(self as unknown as Endpoint, {
  caches: typeof caches === 'undefined' ? undefined : caches,
  estimate: navigator.storage?.estimate ? () => navigator.storage.estimate() : undefined,
});
