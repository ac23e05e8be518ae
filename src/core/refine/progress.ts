/**
 * Progress and ETA, as a pure function of counts and elapsed time (the UI shows a bar and "about 3 min left").
 */
export interface ProgressEstimate {
  done: number;
  total: number;
  /** 0..1 */
  fraction: number;
  elapsedMs: number;
  /** Items per second so far; 0 before the first item. */
  ratePerSec: number;
  /** Estimated milliseconds left; null until an item is done (no basis), 0 when finished. */
  etaMs: number | null;
}

/**
 * A phase's estimate: from `done` of `total`, or from `inside` (0 to 1) when the count is only part of the phase
 * (training steps, then the merge after them), counted in thousandths so a fraction is not floored to 0.
 */
export function phaseEstimate(done: number, total: number, elapsedMs: number, inside?: number): ProgressEstimate {
  if (inside === undefined) return estimateProgress(done, total, elapsedMs);
  return estimateProgress(Math.round(Math.min(1, Math.max(0, inside)) * 1000), 1000, elapsedMs);
}

export function estimateProgress(done: number, total: number, elapsedMs: number): ProgressEstimate {
  const t = Math.max(0, Math.floor(total));
  const d = Math.min(Math.max(0, Math.floor(done)), t);
  const elapsed = Math.max(0, elapsedMs);
  const fraction = t === 0 ? 1 : d / t;
  const ratePerSec = d > 0 && elapsed > 0 ? (d * 1000) / elapsed : 0;
  let etaMs: number | null;
  if (d >= t) etaMs = 0;
  else if (d === 0 || elapsed === 0) etaMs = null;
  else etaMs = Math.round((elapsed / d) * (t - d));
  return { done: d, total: t, fraction, elapsedMs: elapsed, ratePerSec, etaMs };
}

/** "about 2 min left", "about 40 s left", "finishing", or "estimating…". */
export function formatEta(etaMs: number | null): string {
  if (etaMs === null) return 'estimating…';
  if (etaMs <= 0) return 'finishing';
  const s = Math.round(etaMs / 1000);
  if (s < 60) return `about ${Math.max(1, s)} s left`;
  const m = Math.round(s / 60);
  if (m < 60) return `about ${m} min left`;
  const h = Math.floor(m / 60);
  return `about ${h} h ${m % 60} min left`;
}

/** Active milliseconds per phase, by a key the run chooses (SELF: `<round>:<phase>`, SRT: `<phase>`). */
export type PhaseTimes = Record<string, number>;

/**
 * The phase-time bookkeeping of a run: `close(key)` adds the time since the previous close (or since the
 * clock started) to the phase `key` that just ended. A resumed run starts from its stored times, and the
 * phase it resumes is timed from the start of the session.
 */
export class PhaseClock {
  readonly #now: () => number;
  readonly #times: PhaseTimes;
  #since: number;

  constructor(now: () => number, stored: Readonly<PhaseTimes> = {}) {
    this.#now = now;
    this.#times = { ...stored };
    this.#since = now();
  }

  /** Milliseconds since the current phase started. */
  elapsed(): number {
    return this.#now() - this.#since;
  }

  close(key: string): void {
    const t = this.#now();
    this.#times[key] = (this.#times[key] ?? 0) + Math.max(0, t - this.#since);
    this.#since = t;
  }

  /** A copy of the times so far. */
  get times(): PhaseTimes {
    return { ...this.#times };
  }
}
