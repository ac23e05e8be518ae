/** The tfjs engine's worker: the runtime and trainer host (src/core/engine/tfjs/host.ts) behind our typed protocol. */
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import threadedJsUrl from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url';
import { fetchedThreadedWasm } from '../src/core/backend/wasm-threaded.ts';
import { bundledKernelFiles } from '../src/core/kernels/pool.ts';
import type { Endpoint } from '../src/core/engine/protocol.ts';
import { serveWorker } from '../src/core/engine/protocol-server.ts';
import type { TfjsApi } from '../src/core/engine/tfjs/api.ts';
import { createTfjsHost } from '../src/core/engine/tfjs/host.ts';
import { openCacheApi } from '../src/core/io/response-cache.ts';

// Our kernels (npm run build:kernels); a build made without clang has none and runs on tfjs-wasm alone.
const kernelUrls = import.meta.glob<string>('../kernels/dist/*.wasm', { query: '?url', import: 'default', eager: true });

// The worker's global scope is the endpoint (typed as Window under the DOM lib this project compiles with).
const scope = self as unknown as Endpoint;

serveWorker<TfjsApi>(
  scope,
  createTfjsHost({
    wasmPaths: { 'tfjs-backend-wasm.wasm': plainUrl, 'tfjs-backend-wasm-simd.wasm': simdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl },
    threadedWasm: fetchedThreadedWasm({ wasm: threadedUrl, mainScript: threadedJsUrl }),
    kernels: bundledKernelFiles(kernelUrls),
    threadFacts: { cores: navigator.hardwareConcurrency ?? null, isolated: globalThis.crossOriginIsolated === true },
    gpu: navigator.gpu,
    cache: () => openCacheApi(),
    webllmCaches: () => (typeof caches === 'undefined' ? undefined : caches),
  }),
);
