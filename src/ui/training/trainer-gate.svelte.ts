/**
 * A tab's way to the origin's one trainer (db/trainer-lock.ts): Train, Resume, Run SELF and Run SRT go
 * through `run`. When another job holds the trainer nothing starts and nothing is written; `refused` says in
 * words which run holds it, and `wait` queues for it and then starts the refused job. One gate per tab and
 * experiment for the life of the page, so a wait survives switching tabs.
 */
import { AppError } from '../../core/errors.ts';
import type { StudioDb } from '../../db/db.ts';
import { trainerHolder, withTrainer, type TrainerJob, type TrainerLockManager } from '../../db/trainer-lock.ts';
import { describeHolder, type TrainerRefusal } from './trainer-holder.ts';

export class TrainerGate {
  refused = $state.raw<TrainerRefusal | null>(null);
  /** Queued for the trainer (the text says what holds it). */
  waiting = $state.raw<TrainerRefusal | null>(null);
  readonly #db: StudioDb;
  readonly #locks: () => TrainerLockManager | null;
  #retry: { job: TrainerJob; work: () => Promise<unknown> } | null = null;
  #controller: AbortController | null = null;

  constructor(db: StudioDb, locks: () => TrainerLockManager | null = pageTrainerLocks) {
    this.#db = db;
    this.#locks = locks;
  }

  /** Runs `work` holding the trainer and resolves when it ends; true if it ran, false when refused. */
  async run(job: TrainerJob, work: () => Promise<unknown>): Promise<boolean> {
    if (this.waiting) throw new AppError('bad-input', 'This tab is already waiting for the trainer. Press Stop waiting first.');
    const locks = this.#locks();
    this.refused = null;
    if (!locks) {
      await work(); // without Web Locks nothing can be held (the runners refuse to start then)
      return true;
    }
    let out = await withTrainer(locks, job, work);
    // Released between the try and the look: try once more.
    if (out.kind === 'busy' && out.holder === null) out = await withTrainer(locks, job, work);
    if (out.kind === 'done') return true;
    let holder = out.holder;
    // The holder names its job just after taking the trainer: give it a moment to do so.
    for (let i = 0; i < 40 && holder !== null && holder.job === null; i++) {
      await new Promise((r) => setTimeout(r, 25));
      holder = await trainerHolder(locks);
    }
    this.#retry = { job, work };
    this.refused = await describeHolder(this.#db, holder, job);
    return false;
  }

  /** Queues for the trainer, then runs the refused job; resolves when it ends (or the wait is cancelled). */
  async wait(): Promise<void> {
    const retry = this.#retry;
    const locks = this.#locks();
    if (!retry || !locks || !this.refused?.canWait) return;
    const controller = new AbortController();
    this.#controller = controller;
    this.waiting = this.refused;
    this.refused = null;
    try {
      await withTrainer(
        locks,
        retry.job,
        () => {
          this.waiting = null;
          this.#retry = null;
          return retry.work();
        },
        { wait: true, signal: controller.signal },
      );
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    } finally {
      if (this.#controller === controller) this.#controller = null;
      this.waiting = null;
    }
  }

  /** Stops waiting (nothing was started). */
  cancel(): void {
    this.#controller?.abort();
    this.#retry = null;
  }

  dismiss(): void {
    this.refused = null;
    this.#retry = null;
  }
}

/** The page's Web Locks, in the form the trainer lock uses (null without the API). */
export function pageTrainerLocks(): TrainerLockManager | null {
  return typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null;
}

const gates = new Map<string, TrainerGate>();

/** The page's gate of one tab of an experiment. */
export function trainerGateFor(db: StudioDb, tab: 'training' | 'self' | 'srt', experimentId: string): TrainerGate {
  const key = `${tab}:${experimentId}`;
  let g = gates.get(key);
  if (!g) gates.set(key, (g = new TrainerGate(db)));
  return g;
}
