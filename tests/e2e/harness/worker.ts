/** Module worker: the same runtime calls as the page, to prove the core runs in a worker (no DOM). */
import { runFixture, useBackend, type FixtureRequest } from './runtime-api.ts';

export interface WorkerRequest {
  backend: 'cpu' | 'wasm' | 'webgpu';
  /** tfjs-wasm threads (1 = the single-threaded SIMD build, what a page with a strict CSP can use). */
  threads?: number;
  fixture: FixtureRequest;
  greedyFrom: number[];
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  try {
    const backend = await useBackend(e.data.backend, e.data.threads);
    const run = await runFixture(e.data.fixture, { greedyFrom: e.data.greedyFrom });
    self.postMessage({ ok: true, run: { ...run, backend }, hasDocument: typeof (globalThis as { document?: unknown }).document !== 'undefined' });
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
