/**
 * What the harness page (and its worker) can do with the runtime: select a backend, load a fixture model from
 * the hub stand-in (optionally through the Cache API), compute logits, decode greedily. Shared by main.ts and
 * worker.ts; every result is structured-clone safe.
 */
import * as tf from '@tensorflow/tfjs';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import threadedJsUrl from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url';
import { selectBackend, type ActiveBackend, type BackendName } from '../../../src/core/backend/select.ts';
import { chooseWasmThreads } from '../../../src/core/backend/threads.ts';
import { fetchedThreadedWasm } from '../../../src/core/backend/wasm-threaded.ts';
import { fetchedKernelFiles } from '../../../src/core/kernels/pool.ts';
import kernelsUrl from '../../../kernels/dist/decode.wasm?url';
import sharedKernelsUrl from '../../../kernels/dist/decode-shared.wasm?url';
import { hubSource } from '../../../src/core/io/hub-source.ts';
import type { ModelSource } from '../../../src/core/io/model-source.ts';
import { openCacheApi } from '../../../src/core/io/response-cache.ts';
import { disposeLora, loadPeftAdapter } from '../../../src/core/lora/peft-load.ts';
import { generate } from '../../../src/core/model/generate.ts';
import { forward } from '../../../src/core/model/llama.ts';
import { loadModel } from '../../../src/core/model/load.ts';
import { loraLinears } from '../../../src/core/lora/linear.ts';

export interface BackendReport extends ActiveBackend {
  crossOriginIsolated: boolean;
}

/**
 * Selects a backend. For wasm, `threads` (default: every core when cross-origin isolated, as the app does, else 1)
 * picks tfjs-wasm's threaded build (≥ 2) or its single-threaded SIMD build (1).
 */
export async function useBackend(name: BackendName, threads?: number): Promise<BackendReport> {
  const isolated = globalThis.crossOriginIsolated === true;
  const n = threads ?? chooseWasmThreads({ cores: navigator.hardwareConcurrency ?? null, isolated, cap: null }).threads;
  const active = await selectBackend(name, {
    wasmPaths: { 'tfjs-backend-wasm.wasm': plainUrl, 'tfjs-backend-wasm-simd.wasm': simdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl },
    wasmThreads: n,
    threadedWasm: n > 1 ? await fetchedThreadedWasm({ wasm: threadedUrl, mainScript: threadedJsUrl })() : undefined,
    kernels: fetchedKernelFiles(kernelsUrl, sharedKernelsUrl),
  });
  return { ...active, crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

export interface FixtureRequest {
  hub: string;
  /** Repo under the hub, e.g. fixtures/tiny-llama; the adapter is `<repo>-adapter`. */
  repo: string;
  adapter: boolean;
  /** Keep downloads in the Cache API. */
  cacheApi?: boolean;
}

export interface FixtureRun {
  backend: BackendReport | null;
  /** [rows][positions][vocab] */
  logits: number[][][] | null;
  greedy: { cached: number[]; uncached: number[] } | null;
}

async function source(r: FixtureRequest, repo: string): Promise<ModelSource> {
  return hubSource(repo, { baseUrl: r.hub, cache: r.cacheApi ? await openCacheApi() : null, retryDelayMs: 50 });
}

/** Loads a model (and adapter) from the hub stand-in, runs what is asked, releases everything. */
export async function runFixture(
  r: FixtureRequest,
  work: { logitsOf?: number[][]; greedyFrom?: number[]; greedyTokens?: number },
): Promise<FixtureRun> {
  const model = await loadModel(await source(r, r.repo));
  const lora = r.adapter ? await loadPeftAdapter(await source(r, `${r.repo}-adapter`), model.config) : null;
  try {
    let logits: number[][][] | null = null;
    if (work.logitsOf) {
      const ids = tf.tensor2d(work.logitsOf, [work.logitsOf.length, work.logitsOf[0].length], 'int32');
      const out = forward(model, ids, { linears: loraLinears(lora) });
      logits = (await out.array()) as number[][][];
      tf.dispose([ids, out]);
    }
    let greedy: FixtureRun['greedy'] = null;
    if (work.greedyFrom) {
      const o = { maxTokens: work.greedyTokens ?? 8, stopTokenIds: [], linears: loraLinears(lora) };
      const cached = (await generate(model, work.greedyFrom, { ...o, cacheBlockSize: 4 })).tokens;
      const uncached = (await generate(model, work.greedyFrom, { ...o, useCache: false })).tokens;
      greedy = { cached, uncached };
    }
    return { backend: null, logits, greedy };
  } finally {
    if (lora) disposeLora(lora);
    model.dispose();
  }
}
