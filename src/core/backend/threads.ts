/**
 * How many tfjs-wasm threads to run, and why, in words for the user. Every core by default
 * (navigator.hardwareConcurrency in a browser, os.availableParallelism() in Node), at most what the threaded
 * build can run, at most a cap the user set; one thread where threads cannot run (a page that is not
 * cross-origin isolated has no SharedArrayBuffer).
 */

/** tfjs-wasm's threaded build pre-starts this many thread workers; its pool cannot be larger. */
export const MAX_WASM_THREADS = 8;

export interface ThreadChoice {
  threads: number;
  reason: string;
}

export interface ThreadFacts {
  /** Logical cores (hardwareConcurrency / availableParallelism), null when unknown. */
  cores: number | null;
  /** Shared memory for threads is available (browser: crossOriginIsolated; Node: always). */
  isolated: boolean;
  /** The user's cap (a setting or --threads), null for none. */
  cap: number | null;
}

export function chooseWasmThreads({ cores, isolated, cap }: ThreadFacts): ThreadChoice {
  const one = (why: string): ThreadChoice => ({ threads: 1, reason: `1 thread: ${why}` });
  if (!isolated) return one('the page is not cross-origin isolated, so threads cannot share memory');
  if (cores === null || !Number.isFinite(cores) || cores < 1) return one('the number of cores is unknown');
  const all = Math.min(Math.floor(cores), MAX_WASM_THREADS);
  const coreText = `${cores} core${cores === 1 ? '' : 's'}`;
  if (cap !== null && cap >= 1 && Math.floor(cap) < all) {
    const n = Math.floor(cap);
    return { threads: n, reason: `${n} thread${n === 1 ? '' : 's'}: capped by the thread setting (${coreText})` };
  }
  if (all === 1) return one('this machine has 1 core');
  if (all < cores) return { threads: all, reason: `${all} threads: ${coreText}, and tfjs-wasm's threaded build runs at most ${MAX_WASM_THREADS}` };
  return { threads: all, reason: `${all} threads: every core (${coreText})` };
}

/** A thread cap as typed by a user ("", "auto" → none). Throws a plain Error for anything else. */
export function parseThreadCap(text: string | null | undefined): number | null {
  const t = (text ?? '').trim().toLowerCase();
  if (t === '' || t === 'auto') return null;
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1) throw new Error(`a thread count must be a whole number ≥ 1 or "auto", not "${text}"`);
  return n;
}
