/** Starts workers/evolve.worker.ts as a module worker (keep the `new Worker(new URL(…))` form literal for Vite). */
import { AppError } from '../../errors.ts';
import type { Endpoint } from '../protocol.ts';

export function spawnEvolveWorker(): Endpoint {
  if (typeof Worker === 'undefined') throw new AppError('unsupported', 'Merging into a web-llm model runs in a browser worker; this environment has no Web Workers.');
  return new Worker(new URL('../../../../workers/evolve.worker.ts', import.meta.url), { type: 'module', name: 'evolve' });
}
