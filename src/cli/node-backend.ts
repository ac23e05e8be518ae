/** Node side of backend selection: tfjs-wasm's .wasm files from node_modules. For the CLI, tests and bench. */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors.ts';
import { selectBackend, type ActiveBackend, type BackendName } from '../core/backend/select.ts';

/** The folder holding tfjs-backend-wasm's .wasm files, with a trailing slash. */
export function nodeWasmDir(): string {
  const require = createRequire(import.meta.url);
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`;
}

export async function useNodeBackend(name: string): Promise<ActiveBackend> {
  if (name !== 'cpu' && name !== 'wasm') {
    throw new AppError('bad-input', `Backend "${name}" is not available in Node; choose cpu or wasm.`);
  }
  // tfjs-cpu prints an advert for tfjs-node on first use in Node; the CLI's output must stay clean.
  tf.enableProdMode();
  return selectBackend(name as BackendName, { wasmPaths: nodeWasmDir() });
}
