/**
 * tfjs-wasm's threaded SIMD build, started by us rather than by tfjs-backend-wasm's own `init()`, for three
 * reasons found in tfjs-backend-wasm 4.22:
 *
 * 1. tfjs hands the thread workers the module's JS as a Blob of `factory.toString()`: that needs `blob:` in the
 *    page's script-src and breaks under a minifier. Here the workers load the module's own file
 *    (`mainScript`, a same-origin URL or a path), so the CSP keeps script-src 'self' and the bundle may be
 *    minified. The thread workers' script itself (`workerScript`) may still be a blob: URL (worker-src).
 * 2. tfjs turns threads off in Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there); the build itself runs on
 *    worker_threads when its worker script is a CommonJS file (see src/cli/node-backend.ts).
 * 3. The C side caps the pool at half of `emscripten_num_logical_cores()` (it assumes two hardware threads
 *    per core), at most 8: on a 2-core machine that is one thread. The import is answered with 2 × the
 *    threads asked for, so the pool has exactly that many (still at most 8: the build pre-starts 8 workers).
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { MAX_WASM_THREADS } from './threads.ts';
/** Where the threaded build's files are: URLs in a browser, absolute paths in Node. */
export interface ThreadedWasmFiles {
  /** tfjs-backend-wasm-threaded-simd.wasm */
  wasm: string;
  /** wasm-out/tfjs-backend-wasm-threaded-simd.js, the module the thread workers load. */
  mainScript: string;
  /** The thread workers' entry script (threadWorkerSource() as a file or blob: URL). */
  workerScript: string;
  /** The .wasm file's bytes. */
  readWasm(location: string): Promise<ArrayBuffer | Uint8Array>;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: unknown;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** The thread workers' script text, as tfjs-backend-wasm ships it (newlines inside its strings re-escaped, as tfjs does). */
export async function threadWorkerSource(): Promise<string> {
  const m = (await import('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents?: string; default?: { wasmWorkerContents: string } };
  const text = m.wasmWorkerContents ?? m.default?.wasmWorkerContents;
  if (!text) throw new AppError('internal', 'tfjs-backend-wasm ships no thread worker script (wasmWorkerContents).');
  return text.replace(/\n/g, '\\n');
}

/**
 * Replaces tfjs's factory for the `wasm` backend with one that starts the threaded build with `threads`
 * threads. Call before the wasm backend is first started (tf.setBackend('wasm')).
 */
export async function registerThreadedWasm(files: ThreadedWasmFiles, threads: number): Promise<void> {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new AppError('bad-input', `The threaded wasm build takes 2 to ${MAX_WASM_THREADS} threads, not ${threads}.`);
  }
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  // A CommonJS module: its export is the namespace itself or its default, depending on the loader.
  const imported = (await import('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js')) as unknown;
  const factory = (typeof imported === 'function' ? imported : (imported as { default: unknown }).default) as Factory;
  // tfjs's own init evaluates this flag (activeBackend reads it synchronously later); the build needs SIMD.
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new AppError('unsupported', 'The threaded wasm build needs WebAssembly SIMD, which this runtime lacks.');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const module = await new Promise<EmscriptenModule>((resolve, reject) => {
        factory({
          locateFile: (path: string, prefix: string) => (path.endsWith('.worker.js') ? files.workerScript : path.endsWith('.wasm') ? files.wasm : prefix + path),
          mainScriptUrlOrBlob: files.mainScript,
          onAbort: (what: unknown) => reject(new Error(`tfjs-wasm's threaded build aborted: ${String(what)}`)),
          // Emscripten's hook for instantiating the module ourselves: here to answer the core count (see above).
          instantiateWasm: (imports: { env: Record<string, unknown> }, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => {
            imports.env.emscripten_num_logical_cores = () => 2 * threads;
            files
              .readWasm(files.wasm)
              .then((bytes) => WebAssembly.instantiate(bytes as BufferSource, imports as unknown as WebAssembly.Imports))
              .then(({ instance, module }) => receive(instance, module), reject);
            return {};
          },
        }).then(resolve, reject);
      });
      module.tfjs = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      };
      wasmPkg.setThreadsCount(threads);
      return new wasmPkg.BackendWasm(module as unknown as ConstructorParameters<typeof wasmPkg.BackendWasm>[0]);
    },
    2,
  );
}

/**
 * The threaded build's files in a browser (page or worker): the .wasm and the module's JS from same-origin URLs
 * (Vite `?url` assets), the thread workers' script as a blob: URL (allowed by worker-src; it only loads the
 * module's JS with importScripts, under script-src 'self').
 */
export function fetchedThreadedWasm(urls: { wasm: string; mainScript: string }): () => Promise<ThreadedWasmFiles> {
  return async () => {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const absolute = (u: string) => new URL(u, base).href;
    return {
      wasm: absolute(urls.wasm),
      mainScript: absolute(urls.mainScript),
      workerScript: URL.createObjectURL(new Blob([await threadWorkerSource()], { type: 'text/javascript' })),
      readWasm: async (location) => {
        const r = await fetch(location, { credentials: 'same-origin' });
        if (!r.ok) throw new AppError('network', `Could not fetch ${location} (HTTP ${r.status}).`);
        return r.arrayBuffer();
      },
    };
  };
}
