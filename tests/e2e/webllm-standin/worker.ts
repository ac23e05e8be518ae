/**
 * workers/webllm.worker.ts with WEB-LLM'S WEBGPU COMPUTE STOOD IN (tfjs-mlc-engine.ts): the same host
 * (src/core/engine/webllm/host.ts: records, app config, GPU checks, web-llm's own cache checks and deletion),
 * with MLCEngine replaced by our tfjs runtime on the cached MLC files. Cache API reads and fetches are logged
 * (../harness-engines/cache-log.ts). Test-only: tests/e2e/self-webllm.spec.ts serves it in place of the
 * app's web-llm worker.
 */
import '../harness-engines/cache-log.ts';
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { deleteModelAllInfoInCache, hasModelInCache, prebuiltAppConfig } from '@mlc-ai/web-llm';
import type { Endpoint } from '../../../src/core/engine/protocol.ts';
import { serveWebLlm } from '../../../src/core/engine/webllm/host.ts';
import { TfjsMlcEngine } from './tfjs-mlc-engine.ts';

const scope = self as unknown as Endpoint & { standIn?: TfjsMlcEngine };
const webllmCaches = typeof caches === 'undefined' ? undefined : caches;

serveWebLlm(scope, {
  createEngine: () => {
    scope.standIn = new TfjsMlcEngine({
      wasmPaths: { 'tfjs-backend-wasm.wasm': plainUrl, 'tfjs-backend-wasm-simd.wasm': simdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl },
      webllmCaches: () => webllmCaches,
    });
    return scope.standIn;
  },
  prebuiltAppConfig,
  hasModelInCache,
  deleteModelAllInfoInCache,
  gpu: navigator.gpu,
  caches: webllmCaches,
});
