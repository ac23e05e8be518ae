/**
 * The kernels' helper threads: each is a worker that instantiates the same compiled kernel module over the same
 * shared memory and then never returns from `srs_worker_loop` (decode.c), where it sleeps on the control
 * block until the caller's thread posts a job. The caller's thread takes chunks of every job as well.
 */

import { KERNELS_NOT_BUILT, type KernelFiles, type KernelSource } from './module.ts';

/** One started helper: what the environment's worker offers. */
export interface HelperHandle {
  postMessage(message: unknown): void;
  onMessage(listener: (data: unknown) => void): void;
  onError(listener: (message: string) => void): void;
}

/** Starts a worker running `source`, a classic script that uses `self.onmessage` and `self.postMessage`. */
export type SpawnHelper = (source: string) => HelperHandle;

export const HELPER_SOURCE = `"use strict";
self.onmessage = async (e) => {
  const d = e.data;
  try {
    const instance = await WebAssembly.instantiate(d.module, { env: { memory: d.memory } });
    instance.exports.__stack_pointer.value = d.stackTop;
    self.postMessage({ ready: true });
    instance.exports.srs_worker_loop(d.ctrl);
  } catch (err) {
    self.postMessage({ ready: false, error: String(err && err.message ? err.message : err) });
  }
};
`;

export interface HelperSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: number;
  /** A fresh stack for each helper (its top address). */
  stackTop: () => number;
}

/** Starts `count` helpers; resolves with how many are ready (a helper that fails or is slow is left out). */
export async function startHelpers(spawn: SpawnHelper, count: number, setup: HelperSetup, timeoutMs = 20_000): Promise<number> {
  const started = Array.from({ length: count }, () => {
    return new Promise<boolean>((resolve) => {
      let handle: HelperHandle;
      try {
        handle = spawn(HELPER_SOURCE);
      } catch {
        resolve(false);
        return;
      }
      const timer = setTimeout(() => resolve(false), timeoutMs);
      handle.onMessage((data) => {
        clearTimeout(timer);
        resolve((data as { ready?: boolean }).ready === true);
      });
      handle.onError(() => {
        clearTimeout(timer);
        resolve(false);
      });
      handle.postMessage({ module: setup.module, memory: setup.memory, ctrl: setup.ctrl, stackTop: setup.stackTop() });
    });
  });
  return (await Promise.all(started)).filter(Boolean).length;
}

/** A browser helper: a classic Web Worker from a blob: URL (allowed by the app's worker-src). */
export const browserSpawnHelper: SpawnHelper = (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url, { name: 'kernel-helper' });
  return {
    postMessage: (m) => worker.postMessage(m),
    onMessage: (f) => worker.addEventListener('message', (e) => f((e as MessageEvent).data)),
    onError: (f) => worker.addEventListener('error', (e) => f((e as ErrorEvent).message)),
  };
};

/** The kernel files in a browser: same-origin URLs (Vite `?url` assets), helpers as Web Workers. */
/**
 * The kernels of a bundle: `urls` is the bundler's list of kernels/dist/*.wasm (Vite's import.meta.glob with
 * `?url`), empty where the kernels were not built; then the engine runs on tfjs-wasm's own ops.
 */
export function bundledKernelFiles(urls: Record<string, string>): KernelSource {
  const find = (file: string) => Object.entries(urls).find(([path]) => path.endsWith(`/${file}`))?.[1];
  const plain = find('decode.wasm');
  const shared = find('decode-shared.wasm');
  return plain && shared ? fetchedKernelFiles(plain, shared) : KERNELS_NOT_BUILT;
}

export function fetchedKernelFiles(plain: string, shared: string): KernelFiles {
  return {
    plain,
    shared,
    read: async (location) => {
      const r = await fetch(location, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`could not fetch ${location} (HTTP ${r.status})`);
      return r.arrayBuffer();
    },
    spawnHelper: browserSpawnHelper,
  };
}

/**
 * Whether a decode step should use the helper threads. On a machine whose cores are busy with other work a
 * helper may not be scheduled for milliseconds, and every job of a step waits for the chunk it took: then one
 * thread is faster. So the two are timed against each other on alternate steps at first, and again briefly
 * every `period` steps; in between, the faster one (median of its recent steps) runs. Prefill follows the
 * current choice.
 */
export class HelperChoice {
  readonly #times: Record<'pool' | 'single', number[]> = { pool: [], single: [] };
  #steps = 0;
  #choice: 'pool' | 'single' = 'pool';
  readonly #counts = { pool: 0, single: 0 };

  constructor(
    readonly probeSteps = 8,
    readonly period = 64,
    readonly window = 5,
  ) {}

  /** The mode of the next decode step. */
  next(): 'pool' | 'single' {
    const s = this.#steps % this.period;
    return s < this.probeSteps ? (s % 2 === 0 ? 'pool' : 'single') : this.#choice;
  }

  /** The mode of a prefill (the current choice). */
  get current(): 'pool' | 'single' {
    return this.#choice;
  }

  record(mode: 'pool' | 'single', ms: number): void {
    const t = this.#times[mode];
    t.push(ms);
    if (t.length > this.window) t.shift();
    this.#counts[mode]++;
    this.#steps++;
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    if (this.#times.pool.length && this.#times.single.length) this.#choice = med(this.#times.pool) <= med(this.#times.single) ? 'pool' : 'single';
  }

  /** Decode steps run on each so far (for reports). */
  get counts(): Readonly<{ pool: number; single: number }> {
    return this.#counts;
  }
}
