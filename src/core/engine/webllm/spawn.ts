/**
 * Starts workers/webllm.worker.ts as a module worker. Vite bundles the worker (and web-llm inside it) into
 * its own chunk because of the `new Worker(new URL(…, import.meta.url))` form; keep that form literal.
 */
import { AppError } from '../../errors.ts';
import type { Endpoint } from '../protocol.ts';

export function spawnWebLlmWorker(): Endpoint {
  if (typeof Worker === 'undefined') {
    throw new AppError('unsupported', 'The web-llm engine runs in a browser worker; this environment has no Web Workers.');
  }
  return new Worker(new URL('../../../../workers/webllm.worker.ts', import.meta.url), {
    type: 'module',
    name: 'webllm',
  });
}
