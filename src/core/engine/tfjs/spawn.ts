/**
 * Starts workers/tfjs.worker.ts as a module worker. Vite bundles the worker (tfjs, its wasm files as assets)
 * into its own chunk because of the `new Worker(new URL(…, import.meta.url))` form; keep that form literal.
 */
import { AppError } from '../../errors.ts';
import type { Endpoint } from '../protocol.ts';

export function spawnTfjsWorker(): Endpoint {
  if (typeof Worker === 'undefined') {
    throw new AppError('unsupported', 'The tfjs worker engine runs in a browser worker; this environment has no Web Workers. In Node, use TfjsLocalEngine.');
  }
  return new Worker(new URL('../../../../workers/tfjs.worker.ts', import.meta.url), { type: 'module', name: 'tfjs' });
}
