/**
 * Saves the checkpoints a training run reports, one at a time and in order, and says how each save went. The
 * trainer does not wait: a checkpoint that arrives while another is being saved waits its turn. A save waits
 * for `beforeSave` (the loss curve up to it), then counts only once the store has read it back
 * (checkpoint-store.ts). `lastGood` is the step a reload would resume from now.
 */
import { AppError } from '../../core/errors.ts';
import { checkpointSaveError, type CheckpointStore } from './checkpoint-store.ts';

export type CheckpointReport =
  | { kind: 'saved'; step: number; bytes: number }
  /** The save failed; its files were removed and `lastGood` (null = none) is still the one to resume from. */
  | { kind: 'failed'; step: number; error: AppError; lastGood: number | null };

export interface CheckpointSaverOptions {
  /** The run's total steps as far as known (written into latest.json). */
  totalSteps?: () => number | null;
  /** Awaited before each save (e.g. the loss-curve writes up to the checkpoint); its failure fails the save. */
  beforeSave?: () => Promise<void>;
  onReport?: (r: CheckpointReport) => void;
  /** The checkpoint already on disk (a resumed run's). */
  lastGood?: number | null;
}

export class CheckpointSaver {
  readonly #store: CheckpointStore;
  readonly #runId: string;
  readonly #o: CheckpointSaverOptions;
  readonly #queue: { step: number; files: Record<string, Uint8Array> }[] = [];
  #busy: Promise<void> | null = null;
  #lastGood: number | null;
  #failures = 0;

  constructor(store: CheckpointStore, trainingRunId: string, options: CheckpointSaverOptions = {}) {
    this.#store = store;
    this.#runId = trainingRunId;
    this.#o = options;
    this.#lastGood = options.lastGood ?? null;
  }

  get lastGood(): number | null {
    return this.#lastGood;
  }

  /** Saves that failed so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Queues a checkpoint; returns at once. */
  offer(step: number, files: Record<string, Uint8Array>): void {
    this.#queue.push({ step, files });
    this.#busy ??= this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) await this.#save(next.step, next.files);
    } finally {
      this.#busy = null;
    }
  }

  async #save(step: number, files: Record<string, Uint8Array>): Promise<void> {
    try {
      await this.#o.beforeSave?.();
      const saved = await this.#store.save(this.#runId, step, files, this.#o.totalSteps?.() ?? null);
      this.#lastGood = saved.step;
      this.#o.onReport?.({ kind: 'saved', step: saved.step, bytes: saved.bytes });
    } catch (e) {
      this.#failures++;
      // The store's errors already say which checkpoint failed; others (the curve's writes) get that said.
      const error = e instanceof AppError ? e : checkpointSaveError(step, e);
      this.#o.onReport?.({ kind: 'failed', step, error, lastGood: this.#lastGood });
    }
  }

  /** Waits until every offered checkpoint has been saved or has failed. */
  async drain(): Promise<void> {
    while (this.#busy) await this.#busy;
  }
}
