/**
 * Node only: tfjs-backend-wasm's files in node_modules, for the CLI, tests, the bench and the in-process engine.
 * The threaded build's thread workers run on worker_threads from a CommonJS file: its text ships inside
 * tfjs-backend-wasm (threadWorkerSource) and is written once per version into the temp folder. Our kernels
 * (kernels/dist, built by `npm run build:kernels`) run their helper threads on worker_threads too.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KERNELS_NOT_BUILT, type KernelSource } from '../kernels/module.ts';
import type { SpawnHelper } from '../kernels/pool.ts';
import { chooseWasmThreads, type ThreadChoice } from './threads.ts';
import { threadWorkerSource, type ThreadedWasmFiles } from './wasm-threaded.ts';

const require = createRequire(import.meta.url);

/** The folder holding tfjs-backend-wasm's .wasm files, with a trailing slash. */
export function nodeWasmDir(): string {
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`;
}

/** Every core by default; `cap` (--threads) lowers it. */
export function nodeThreadChoice(cap: number | null = null): ThreadChoice {
  return chooseWasmThreads({ cores: availableParallelism(), isolated: true, cap });
}

let files: Promise<ThreadedWasmFiles> | null = null;

export function nodeThreadedWasm(): Promise<ThreadedWasmFiles> {
  files ??= (async () => {
    const version = (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
    const dir = join(tmpdir(), 'self-refine-studio');
    const workerScript = join(dir, `tfjs-backend-wasm-${version}-thread-worker.cjs`);
    if (!existsSync(workerScript)) {
      await mkdir(dir, { recursive: true });
      const partial = `${workerScript}.${process.pid}.tmp`;
      await writeFile(partial, await threadWorkerSource());
      await rename(partial, workerScript); // atomic: a concurrent process sees the whole file or none
    }
    return {
      wasm: join(nodeWasmDir(), 'tfjs-backend-wasm-threaded-simd.wasm'),
      mainScript: require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js'),
      workerScript,
      readWasm: (path) => readFile(path),
    };
  })();
  return files;
}

/** A kernel helper thread on worker_threads; unref'd, so a helper asleep on its job queue never keeps Node alive. */
const nodeSpawnHelper: SpawnHelper = (source) => {
  const shim = "const { parentPort } = require('node:worker_threads'); const self = { postMessage: (m) => parentPort.postMessage(m), set onmessage(f) { parentPort.on('message', (data) => f({ data })); } };\n";
  const worker = new Worker(shim + source, { eval: true });
  worker.unref();
  return {
    postMessage: (m) => worker.postMessage(m),
    onMessage: (f) => worker.on('message', f),
    onError: (f) => worker.on('error', (e: Error) => f(e.message)),
  };
};

/** kernels/dist in this checkout, or why not (it was not built: the tfjs path runs instead). */
export function nodeKernelFiles(): KernelSource {
  const dir = join(import.meta.dirname, '../../../kernels/dist');
  const plain = join(dir, 'decode.wasm');
  const shared = join(dir, 'decode-shared.wasm');
  if (!existsSync(plain) || !existsSync(shared)) return KERNELS_NOT_BUILT;
  return { plain, shared, read: (path) => readFile(path), spawnHelper: nodeSpawnHelper };
}
