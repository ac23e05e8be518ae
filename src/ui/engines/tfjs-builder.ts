/**
 * The tfjs engine for the page: a TfjsWorkerEngine (runtime + trainer in workers/tfjs.worker.ts) on the
 * choice's model source. After load it says which backend it runs on and why.
 */
import type { BackendInfo, LoadedModelInfo } from '../../core/engine/tfjs/api.ts';
import { TfjsWorkerEngine } from '../../core/engine/tfjs/worker-engine.ts';
import { describeFormatError } from '../../core/kernels/load-format.ts';
import { tfjsModelId, type TfjsBuilder } from './engine-builders.ts';

/** "Backend: wasm (4 threads) — no hardware WebGPU adapter … · 4 threads: every core (4 cores) · 0.1 M parameters, loaded in 0.3 s". */
export function describeTfjs(backend: BackendInfo | null, model: LoadedModelInfo | null): string | null {
  if (!backend) return null;
  const threads = backend.threads && backend.threads > 1 ? ` (${backend.threads} threads)` : '';
  const size = model ? ` · ${(model.parameters / 1e6).toFixed(model.parameters < 1e7 ? 2 : 0)} M parameters, loaded in ${(model.loadMs / 1000).toFixed(1)} s` : '';
  const format = model?.formatError ? ` · ${describeFormatError(model.formatError)}` : '';
  const why = `${backend.threadReason ? ` · ${backend.threadReason}` : ''}${backend.kernels ? ` · kernels ${backend.kernels}` : ''}`;
  return `Backend: ${backend.backend}${threads} — ${backend.reason}${why}${size}${format}`;
}

export const tfjsBuilder: TfjsBuilder = (model, source, backend, cpu) => {
  const engine = new TfjsWorkerEngine({ backend, source, threadCap: () => cpu.threadCap, weightFormat: () => cpu.weightFormat });
  return {
    engine,
    loadId: tfjsModelId(model),
    describe: () => describeTfjs(engine.backend, engine.model),
    dispose: () => engine.dispose(),
  };
};
