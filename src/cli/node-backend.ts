/** Node side of backend selection, for the CLI, tests and bench: tfjs-wasm from node_modules, every core by default. */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors.ts';
import { nodeKernelFiles, nodeThreadChoice, nodeThreadedWasm, nodeWasmDir } from '../core/backend/node-wasm.ts';
import { selectBackend, type ActiveBackend, type BackendName } from '../core/backend/select.ts';

export { nodeWasmDir };

export interface NodeBackendOptions {
  /** Most wasm threads (--threads); default every core. 1 = the single-threaded SIMD build. */
  threads?: number | null;
  /** Attach our wasm kernels (default true, where kernels/dist was built). */
  kernels?: boolean;
}

export async function useNodeBackend(name: string, o: NodeBackendOptions = {}): Promise<ActiveBackend> {
  if (name !== 'cpu' && name !== 'wasm') {
    throw new AppError('bad-input', `Backend "${name}" is not available in Node; choose cpu or wasm.`);
  }
  // tfjs-cpu prints an advert for tfjs-node on first use in Node; the CLI's output must stay clean.
  tf.enableProdMode();
  const { threads } = nodeThreadChoice(o.threads ?? null);
  return selectBackend(name as BackendName, {
    wasmPaths: nodeWasmDir(),
    wasmThreads: threads,
    threadedWasm: threads > 1 ? await nodeThreadedWasm() : undefined,
    kernels: o.kernels === false ? 'turned off for this run' : nodeKernelFiles(),
  });
}

/** The --threads flag of the commands that compute (the same text everywhere). */
export const THREADS_FLAG = { kind: 'int', value: 'N', help: 'most tfjs-wasm threads (default every core: os.availableParallelism())' } as const;

/** --threads as given: a whole number ≥ 1, or null for every core. */
export function threadsFlag(n: number | undefined): number | null {
  if (n === undefined) return null;
  if (!Number.isInteger(n) || n < 1) throw new AppError('bad-input', `--threads must be a whole number ≥ 1, not ${n}.`);
  return n;
}
