/**
 * `window.evolvedHarness` for tests/e2e/engine-webllm-evolved.spec.ts: makes an evolved model in the page
 * (the tiny-llama fixture from the hub stand-in, exported to MLC q0f32 and merged with its PEFT adapter by
 * our runtime on tfjs-cpu), registers it in web-llm's cache scopes under the record of a catalog base, and
 * reloads it with the real web-llm worker (workers/webllm.worker.ts, instrumented by cache-log.ts) while
 * every Cache API read, download and fetch of that worker is logged.
 *
 * What stands in for what: the tiny-llama files stand in for the base's merged weights (a real base is
 * hundreds of MB and cannot be downloaded here), and an 8-byte empty WebAssembly module, cached at the
 * base record's real `model_lib` URL, stands in for the compiled model library, which cannot be compiled or
 * downloaded here. web-llm therefore stops when it instantiates that library, before the tokenizer and the
 * weights; web-llm's own cache check (hasModelInCache) then reads the weights' index from the cache.
 */
import * as tf from '@tensorflow/tfjs';
import { WebLlmEngine } from '../../../src/core/engine/webllm/engine.ts';
import { evolvedModelId, evolvedRecordRef, findEvolvedModel, listEvolvedModels, registerEvolvedModel, type EvolvedModel } from '../../../src/core/engine/webllm/evolved.ts';
import { AppError } from '../../../src/core/errors.ts';
import { hubSource } from '../../../src/core/io/hub-source.ts';
import { memorySource } from '../../../src/core/io/memory-source.ts';
import { disposeLora, loadPeftAdapter } from '../../../src/core/lora/peft-load.ts';
import { loraToPlain } from '../../../src/core/lora/tensor-data.ts';
import { exportMlc, hfModelOf } from '../../../src/core/mlc/export.ts';
import { mergeIntoMlc } from '../../../src/core/mlc/merge.ts';
import { openMlcModel } from '../../../src/core/mlc/read.ts';
import { loadModel } from '../../../src/core/model/load.ts';
import type { LogEntry } from './cache-log.ts';

const BASE = 'SmolLM2-135M-Instruct-q0f32-MLC';
/** The smallest valid WebAssembly module (magic number and version only). */
const PLACEHOLDER_LIBRARY = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

function spawnLoggedWorker(): Worker {
  return new Worker(new URL('./logging-webllm.worker.ts', import.meta.url), { type: 'module', name: 'webllm-logged' });
}

async function evolvedFiles(hub: string): Promise<{ files: Map<string, Uint8Array>; weightKept: number }> {
  await tf.setBackend('cpu');
  const source = hubSource('fixtures/tiny-llama', { baseUrl: hub });
  const model = await loadModel(source);
  try {
    const base = await openMlcModel(memorySource('tiny-llama-q0f32', await exportMlc(await hfModelOf(model, source), 'q0f32')));
    const lora = await loadPeftAdapter(hubSource('fixtures/tiny-llama-adapter', { baseUrl: hub }), base.chat.config);
    try {
      const { files, report } = await mergeIntoMlc(base, { modules: await loraToPlain(lora), scaling: lora.scaling });
      return { files, weightKept: report.weightKept };
    } finally {
      disposeLora(lora);
    }
  } finally {
    model.dispose();
  }
}

interface ReloadOutcome {
  record: EvolvedModel;
  files: string[];
  baseLib: string;
  progress: number[];
  load: { code: string; message: string } | null;
  /** Everything the worker asked the Cache API and the network for while web-llm reloaded the model. */
  reloadLog: LogEntry[];
  cached: { webllmId: string; cached: boolean; entries: number }[];
  cacheCheckLog: LogEntry[];
  listedAfter: string[];
}

const harness = {
  async reloadEvolved(hub: string): Promise<ReloadOutcome> {
    const log: LogEntry[] = [];
    const channel = new BroadcastChannel('webllm-log');
    channel.onmessage = (m: MessageEvent<LogEntry>) => log.push(m.data);
    const settle = () => new Promise((r) => setTimeout(r, 200)); // let the last log messages arrive
    const engine = new WebLlmEngine({
      spawn: spawnLoggedWorker,
      evolved: async (id) => {
        const m = await findEvolvedModel(caches, id);
        return m ? evolvedRecordRef(m) : null;
      },
    });
    try {
      const { files } = await evolvedFiles(hub);
      const urls = await engine.recordUrls(BASE);
      // The base's compiled library, cached where web-llm cached it when the base was downloaded.
      await (await caches.open('webllm/wasm')).put(urls.modelLib, new Response(PLACEHOLDER_LIBRARY));
      const progress: number[] = [];
      const id = evolvedModelId(BASE);
      const record = await registerEvolvedModel(caches, { webllmId: BASE, quantization: 'q0f32', modelLib: urls.modelLib }, id, files, {
        origin: location.origin,
        name: 'tiny-llama + adapter (e2e)',
        onProgress: (w) => progress.push(w),
      });
      await settle();
      log.length = 0;
      let load: ReloadOutcome['load'] = null;
      try {
        await engine.load(id);
      } catch (e) {
        load = { code: e instanceof AppError ? e.code : 'untyped', message: e instanceof Error ? e.message : String(e) };
      }
      await settle();
      const reloadLog = log.splice(0);
      const cached = await engine.listCached([id]);
      await settle();
      return { record, files: [...files.keys()], baseLib: urls.modelLib, progress, load, reloadLog, cached, cacheCheckLog: log.splice(0), listedAfter: (await listEvolvedModels(caches)).map((m) => m.webllmId) };
    } finally {
      engine.dispose();
      channel.close();
    }
  },
};

declare global {
  interface Window {
    evolvedHarness: typeof harness;
  }
}

window.evolvedHarness = harness;
