/**
 * The kernels' helper threads: each is a worker that instantiates the same compiled kernel module over the same
 * shared memory and then never returns from `srs_worker_loop` (decode.c), where it sleeps on the control
 * block until the caller's thread posts a job. The caller's thread takes chunks of every job as well.
 */

import { KERNELS_NOT_BUILT, type KernelFiles, type KernelSource } from './module.ts';
import { median } from '../stats/median.ts';

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
 * thread is faster. So a probe times the two against each other in pairs of neighbouring steps (helpers, then
 * one thread, at the same context within a token) and picks by the median ratio of its pairs: a pair's steps
 * see the same context length and nearly the same load, so a longer context later does not count against
 * whichever mode happens to run then. A probe runs at first, every `period` steps, and as soon as the chosen
 * mode's recent median has moved by more than `drift` (×) from its time in the probe (a new context length, a
 * change of load). Prefill always uses the helpers (forward.ts).
 */
export class HelperChoice {
  #choice: 'pool' | 'single' = 'pool';
  /** Steps of the current probe still to run; even: a pool step next, odd: its single step. */
  #probeLeft: number;
  /** The current probe's step times in each mode; entry i of each is pair i. */
  #probePool: number[] = [];
  #probeSingle: number[] = [];
  /** The chosen mode's step time in the last probe (median), and its steps since. */
  #base = 0;
  #recent: number[] = [];
  #sinceProbe = 0;
  readonly #counts = { pool: 0, single: 0 };

  constructor(
    /** Steps of a probe: an even count, pool and single in turn. */
    readonly probeSteps = 8,
    readonly period = 64,
    readonly window = 5,
    readonly drift = 1.3,
  ) {
    this.#probeLeft = probeSteps;
  }

  /** The mode of the next decode step. */
  next(): 'pool' | 'single' {
    if (this.#probeLeft > 0) return this.#probeLeft % 2 === 0 ? 'pool' : 'single';
    return this.#choice;
  }

  /** The time of a decode step that ran in `mode` (the mode `next` gave). */
  record(mode: 'pool' | 'single', ms: number): void {
    this.#counts[mode]++;
    if (this.#probeLeft > 0) return this.#recordProbe(mode, ms);
    this.#sinceProbe++;
    this.#recent.push(ms);
    if (this.#recent.length > this.window) this.#recent.shift();
    const now = this.#recent.length === this.window ? median(this.#recent) : this.#base;
    const moved = now > this.#base * this.drift || now < this.#base / this.drift;
    if (moved || this.#sinceProbe >= this.period - this.probeSteps) this.#startProbe();
  }

  /** Decode steps run on each so far (for reports). */
  get counts(): Readonly<{ pool: number; single: number }> {
    return this.#counts;
  }

  #recordProbe(mode: 'pool' | 'single', ms: number): void {
    this.#probeLeft--;
    (mode === 'pool' ? this.#probePool : this.#probeSingle).push(ms);
    if (this.#probeLeft > 0) return;
    // single ÷ pool of each pair
    this.#choice = median(this.#probeSingle.map((t, i) => t / this.#probePool[i])) >= 1 ? 'pool' : 'single';
    this.#base = median(this.#choice === 'pool' ? this.#probePool : this.#probeSingle);
  }

  #startProbe(): void {
    this.#probeLeft = this.probeSteps;
    this.#probePool = [];
    this.#probeSingle = [];
    this.#recent = [];
    this.#sinceProbe = 0;
  }
}
