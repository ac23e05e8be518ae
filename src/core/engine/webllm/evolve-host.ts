/**
 * The evolve worker's side (evolve-api.ts): `evolveIntoCache` (evolve.ts) behind the typed protocol, with
 * progress for the merge and the write.
 */
import { AppError } from '../../errors.ts';
import type { Endpoint } from '../protocol.ts';
import { serveWorker, type WorkerServer } from '../protocol-server.ts';
import { evolveIntoCache } from './evolve.ts';
import type { EvolveApi } from './evolve-api.ts';
import type { WritableCacheStorage } from './evolved.ts';

export interface EvolveHostDeps {
  caches: WritableCacheStorage | undefined;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

export function serveEvolve(endpoint: Endpoint, deps: EvolveHostDeps): WorkerServer {
  return serveWorker<EvolveApi>(endpoint, {
    evolve: async (p, ctx) => {
      const caches = deps.caches;
      if (!caches) throw new AppError('unsupported', 'This browser has no Cache API here (a private window or an insecure page), so web-llm models cannot be stored.');
      return evolveIntoCache(caches, p, { signal: ctx.signal, estimate: deps.estimate, onProgress: (x) => ctx.progress(x) });
    },
  });
}
