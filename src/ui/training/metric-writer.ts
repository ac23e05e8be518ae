/**
 * Writes a training run's loss curve as it comes: points are buffered and appended to `trainingMetrics` in
 * small batches (every `maxPoints` points or `maxDelayMs`), one write at a time, so logging a step never waits
 * on IndexedDB and a reload loses at most the last second. A failed write is kept and rethrown by `flush`.
 */
import type { StudioDb } from '../../db/db.ts';
import { appendTrainingMetrics } from '../../db/training-runs.ts';
import type { TrainingMetricPoint } from '../../db/types.ts';

export class MetricWriter {
  readonly #db: StudioDb;
  readonly #runId: string;
  readonly #maxPoints: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  #buffer: TrainingMetricPoint[] = [];
  #chain: Promise<void> = Promise.resolve();
  #failure: unknown = null;
  #lastWrite: number;

  constructor(db: StudioDb, trainingRunId: string, options: { maxPoints?: number; maxDelayMs?: number; now?: () => number } = {}) {
    this.#db = db;
    this.#runId = trainingRunId;
    this.#maxPoints = options.maxPoints ?? 20;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#lastWrite = this.#now();
  }

  push(point: TrainingMetricPoint): void {
    this.#buffer.push(point);
    if (this.#buffer.length >= this.#maxPoints || this.#now() - this.#lastWrite >= this.#maxDelayMs) this.#write();
  }

  /** Starts writing what is buffered now (at a checkpoint or a pause), without waiting. */
  writeNow(): void {
    this.#write();
  }

  #write(): void {
    if (this.#buffer.length === 0) return;
    const points = this.#buffer;
    this.#buffer = [];
    this.#lastWrite = this.#now();
    this.#chain = this.#chain.then(() =>
      appendTrainingMetrics(this.#db, this.#runId, points).catch((e: unknown) => {
        this.#failure ??= e;
      }),
    );
  }

  /** Waits for the writes started so far (not what is still buffered); rethrows the first failure. */
  async settled(): Promise<void> {
    await this.#chain;
    if (this.#failure !== null) throw this.#failure;
  }

  /** Writes what is buffered and waits for every write; rethrows the first failure. */
  async flush(): Promise<void> {
    this.#write();
    await this.#chain;
    if (this.#failure !== null) throw this.#failure;
  }
}
