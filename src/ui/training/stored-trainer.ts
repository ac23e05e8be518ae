/**
 * LoRA training as stored work: the refine `Trainer` (used by the Training tab, SELF rounds and SRT) on the
 * page's tfjs engine, where every training is a `trainingRuns` row holding its settings, its loss curve
 * appended as it comes, checkpoints kept (CheckpointStore) while it runs, and the finished adapter stored in
 * `adapters` (PEFT safetensors + GGUF Blobs) under the id the engine knows it by. A run cut off by a reload is
 * marked 'interrupted' at start-up; `resumeTraining` continues it from its last checkpoint.
 */
import { AppError, isAbort } from '../../core/errors.ts';
import type { AdapterFiles, TfjsTrainConfig, TrainProgressMessage } from '../../core/engine/tfjs/api.ts';
import type { LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import { TfjsTrainer } from '../../core/engine/tfjs/trainer.ts';
import type { TrainOutcome, TrainRequest, Trainer } from '../../core/train/trainer.ts';
import { addAdapter } from '../../db/adapters.ts';
import type { StudioDb } from '../../db/db.ts';
import { writeTransaction } from '../../db/errors.ts';
import { newId } from '../../db/ids.ts';
import { trainingRunLockName, type LockManagerLike } from '../../db/locks.ts';
import { executeTrainingRun, finishTrainingRun } from '../../db/training-runs.ts';
import type { TrainingRun } from '../../db/types.ts';
import { loraFromPeftJson } from '../adapters/adapter-files.ts';
import { ensureAdapters, markHeld } from '../adapters/adapter-sync.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { MetricWriter } from './metric-writer.ts';
import { parseTrainingConfig, trainingConfigJson, type TrainingOrigin, type TrainingRunConfig } from './training-config.ts';

export interface TrainingEvent {
  trainingRunId: string;
  adapterId: string;
  message: TrainProgressMessage;
}

export interface StoredTrainerOptions {
  db: StudioDb;
  locks: LockManagerLike;
  checkpoints: CheckpointStore;
  experimentId: string;
  /** The tfjs engine holding the model (training runs in its worker). */
  engine: LoraTrainingEngine;
  origin: TrainingOrigin;
  /** Also store adapter.gguf with each adapter (default true). */
  gguf?: boolean;
  onEvent?: (e: TrainingEvent) => void;
  /** A training run row exists (new or reopened). */
  onRunStarted?: (run: TrainingRun) => void;
}

/** A training request as the Training tab makes it: the samples it trains on are remembered for a resume. */
export type StoredTrainRequest = TrainRequest<TfjsTrainConfig> & { sampleIds?: string[] };

export class StoredTrainer implements Trainer<TfjsTrainConfig> {
  readonly #o: StoredTrainerOptions;
  #inner: TfjsTrainer | null = null;

  constructor(options: StoredTrainerOptions) {
    this.#o = options;
  }

  get running(): boolean {
    return this.#inner !== null;
  }

  async train(request: StoredTrainRequest): Promise<TrainOutcome> {
    const { db, engine } = this.#o;
    if (engine.modelId === null) throw new AppError('bad-input', 'Load the model before training.');
    if (request.rows.length === 0) throw new AppError('bad-input', 'There is nothing to train on (no rows).');
    await ensureAdapters(engine, db, [request.fromAdapterId]);
    const config: TrainingRunConfig = {
      method: request.method,
      name: request.label,
      baseModelId: engine.modelId,
      fromAdapterId: request.fromAdapterId,
      adapterId: newId(),
      rowCount: request.rows.length,
      origin: this.#o.origin,
      sampleIds: request.sampleIds ?? null,
      train: request.config,
    };
    return executeTrainingRun(db, this.#o.locks, { experimentId: this.#o.experimentId, config: trainingConfigJson(config) }, (run) => {
      this.#o.onRunStarted?.(run);
      return this.#run(run, config, request, undefined);
    });
  }

  /**
   * Continues an interrupted (or stopped, or failed) training run from its last checkpoint, on the same rows.
   * `rows` gives the training rows for the stored config (the Training tab rebuilds them from its samples).
   */
  async resume(trainingRunId: string, rows: (config: TrainingRunConfig) => Promise<TrainRequest<TfjsTrainConfig>['rows']>, signal?: AbortSignal, onProgress?: TrainRequest['onProgress']): Promise<TrainOutcome> {
    const { db, engine, checkpoints } = this.#o;
    const row = await db.trainingRuns.get(trainingRunId);
    const refuse = refusal(row);
    if (refuse) throw refuse;
    const config = parseTrainingConfig(row!.config);
    if (engine.modelId !== config.baseModelId) {
      throw new AppError('bad-input', `This training run trains ${config.baseModelId}, but ${engine.modelId ?? 'no model'} is loaded. Load ${config.baseModelId}, then resume.`);
    }
    const checkpoint = await checkpoints.load(trainingRunId);
    if (!checkpoint) {
      throw new AppError('not-found', 'No checkpoint of this training run was saved (it stopped before its first checkpoint, or it was cleared). Start a new training run instead.');
    }
    const trainRows = await rows(config);
    await ensureAdapters(engine, db, [config.fromAdapterId]);
    const request = { method: config.method, rows: trainRows, fromAdapterId: config.fromAdapterId, config: config.train, label: config.name, signal, onProgress } as TrainRequest<TfjsTrainConfig>;
    return this.#o.locks.request(trainingRunLockName(trainingRunId), async () => {
      const run = await writeTransaction(db, 'resume the training run', [db.trainingRuns], async () => {
        const r = await db.trainingRuns.get(trainingRunId);
        const no = refusal(r);
        if (no) throw no;
        const patch = { status: 'running' as const, error: null, finishedAt: null, updatedAt: Date.now() };
        await db.trainingRuns.update(trainingRunId, patch);
        return { ...r!, ...patch };
      });
      this.#o.onRunStarted?.(run);
      try {
        const out = await this.#run(run, config, request, checkpoint.files);
        await finishTrainingRun(db, trainingRunId, { status: 'done' });
        return out;
      } catch (e) {
        const aborted = isAbort(e);
        await finishTrainingRun(db, trainingRunId, { status: aborted ? 'aborted' : 'failed', error: aborted ? null : e instanceof Error ? e.message : String(e) }).catch(() => undefined);
        throw e;
      }
    });
  }

  async #run(run: TrainingRun, config: TrainingRunConfig, request: TrainRequest<TfjsTrainConfig>, resume: Record<string, Uint8Array> | undefined): Promise<TrainOutcome> {
    const { db, engine, checkpoints } = this.#o;
    const metrics = new MetricWriter(db, run.id);
    let saving: Promise<void> = Promise.resolve();
    let saveFailure: unknown = null;
    const adapterId = config.adapterId;
    const inner = new TfjsTrainer(engine, {
      newAdapterId: () => adapterId,
      gguf: this.#o.gguf !== false,
      onEvent: (m) => {
        if (m.kind === 'step') {
          metrics.push({ step: m.step, loss: m.loss, lr: m.lr, tokensPerSec: m.tokensPerSec, gradNorm: m.gradNorm, memoryBytes: m.memoryBytes, elapsedMs: m.elapsedMs });
        } else if (m.kind === 'status' && m.status === 'paused') {
          metrics.writeNow();
        } else if (m.kind === 'checkpoint') {
          // The curve up to a checkpoint is stored with it, so a resume from it finds every earlier point.
          metrics.writeNow();
          const files = m.files;
          saving = saving.then(() => checkpoints.save(run.id, m.step, files).catch((e: unknown) => void (saveFailure ??= e)));
        }
        this.#o.onEvent?.({ trainingRunId: run.id, adapterId, message: m });
      },
      onAdapter: async (files: AdapterFiles) => {
        await metrics.flush();
        await addAdapter(db, {
          id: adapterId,
          experimentId: this.#o.experimentId,
          name: config.name,
          baseModelId: config.baseModelId,
          config: loraFromPeftJson(files.adapterConfig),
          weights: new Blob([files.safetensors as Uint8Array<ArrayBuffer>]),
          gguf: files.gguf ? new Blob([files.gguf as Uint8Array<ArrayBuffer>]) : null,
          trainingRunId: run.id,
        });
        markHeld(engine, adapterId);
      },
    });
    this.#inner = inner;
    try {
      const out = await inner.train({ ...request, adapterId, resume });
      await saving;
      if (saveFailure) console.warn('A training checkpoint could not be saved:', saveFailure);
      await checkpoints.remove(run.id).catch(() => undefined);
      return out;
    } finally {
      this.#inner = null;
      await metrics.flush().catch(() => undefined);
      await saving;
    }
  }

  pause(): Promise<boolean> {
    return this.#inner ? this.#inner.pause() : Promise.resolve(false);
  }

  resumePaused(): Promise<boolean> {
    return this.#inner ? this.#inner.resume() : Promise.resolve(false);
  }

  abort(): void {
    this.#inner?.abort();
  }
}

function refusal(run: TrainingRun | undefined): AppError | null {
  if (!run) return new AppError('not-found', 'That training run no longer exists.');
  if (run.status === 'running') return new AppError('bad-input', 'This training run is already running (in this tab or another one).');
  if (run.status === 'done') return new AppError('bad-input', 'This training run has finished; its adapter is on the Adapters tab.');
  return null;
}
