/** The harness page: exposes the runtime (`window.runtime`) and the benchmark suites (`window.bench`). */
import * as tf from '@tensorflow/tfjs';
import { filesSource } from '../../../src/core/io/files-source.ts';
import { generate } from '../../../src/core/model/generate.ts';
import { loadModel } from '../../../src/core/model/load.ts';
import { runFixture, useBackend, type FixtureRequest, type FixtureRun } from './runtime-api.ts';
import type { WorkerRequest } from './worker.ts';
import { runSuiteInBrowser } from './bench-page.ts';
import './tfjs-engine-page.ts'; // window.tfjsHarness: the tfjs worker engine (train-*/tfjs-* specs)

const runtime = {
  useBackend: (name: Parameters<typeof useBackend>[0], threads?: number) => useBackend(name, threads),
  runFixture: (r: FixtureRequest, work: Parameters<typeof runFixture>[1]) => runFixture(r, work),

  /** Greedy tokens from the folder picked in #pick (a File list with webkitRelativePath). */
  async greedyFromPicked(prompt: number[], maxTokens: number): Promise<{ tokens: number[]; files: number; label: string }> {
    const input = document.getElementById('pick') as HTMLInputElement;
    const files = input.files;
    if (!files || files.length === 0) throw new Error('no folder picked');
    const source = filesSource(files);
    const model = await loadModel(source);
    try {
      const r = await generate(model, prompt, { maxTokens, stopTokenIds: [] });
      return { tokens: r.tokens, files: files.length, label: source.label };
    } finally {
      model.dispose();
    }
  },

  /** The same fixture run inside a module worker. */
  inWorker(request: WorkerRequest): Promise<{ run: FixtureRun; hasDocument: boolean }> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (e: MessageEvent<{ ok: true; run: FixtureRun; hasDocument: boolean } | { ok: false; error: string }>) => {
        worker.terminate();
        if (e.data.ok) resolve({ run: e.data.run, hasDocument: e.data.hasDocument });
        else reject(new Error(e.data.error));
      };
      worker.onerror = (e) => {
        worker.terminate();
        reject(new Error(`worker failed: ${e.message}`));
      };
      worker.postMessage(request);
    });
  },

  numTensors: () => tf.memory().numTensors,
};

declare global {
  interface Window {
    runtime: typeof runtime;
    bench: { run: typeof runSuiteInBrowser };
  }
}

window.runtime = runtime;
window.bench = { run: runSuiteInBrowser };
(document.getElementById('status') as HTMLOutputElement).textContent = 'ready';
