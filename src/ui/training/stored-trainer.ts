/**
 * LoRA training as stored work: the refine `Trainer` (used by the Training tab, SELF rounds and SRT) on the
 * page's tfjs engine, where every training is a `trainingRuns` row holding its settings, its loss curve
 * appended as it comes, checkpoints kept (CheckpointStore) while it runs, and the finished adapter stored in
 * `adapters` (PEFT safetensors + GGUF Blobs) under the id the engine knows it by. A run cut off by a reload is
 * marked 'interrupted' at start-up; `resume` continues it from its last checkpoint. Checkpoints are saved
 * (CheckpointSaver) only for runs of the Training tab: SELF and SRT retrain a phase from its start instead.
 */
import { AppError } from '../../core/errors.ts';
import type { AdapterFiles, TfjsTrainConfig, TrainProgressMessage } from '../../core/engine/tfjs/api.ts';
import type { LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import { TfjsTrainer } from '../../core/engine/tfjs/trainer.ts';
import type { TrainOutcome, TrainRequest, Trainer } from '../../core/train/trainer.ts';
import { addAdapter } from '../../db/adapters.ts';
import type { StudioDb } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import type { LockManagerLike } from '../../db/locks.ts';
import { executeTrainingRun, resumeTrainingRun, trainingResumeRefusal } from '../../db/training-runs.ts';
import type { TrainingRun } from '../../db/types.ts';
import { loraFromPeftJson } from '../adapters/adapter-files.ts';
import { ensureAdapters, markHeld } from '../adapters/adapter-sync.ts';
import { CheckpointSaver, type CheckpointReport } from './checkpoint-saver.ts';
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
  /** A checkpoint was saved (and read back), or its save failed. */
  onCheckpoint?: (trainingRunId: string, report: CheckpointReport) => void;
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
    const train = this.#o.origin.kind === 'manual' ? request.config : { ...request.config, checkpointEvery: 0, checkpointSeconds: 0 };
    const config: TrainingRunConfig = {
      method: request.method,
      name: request.label,
      baseModelId: engine.modelId,
      fromAdapterId: request.fromAdapterId,
      adapterId: newId(),
      rowCount: request.rows.length,
      origin: this.#o.origin,
      sampleIds: request.sampleIds ?? null,
      train,
    };
    return executeTrainingRun(db, this.#o.locks, { experimentId: this.#o.experimentId, config: trainingConfigJson(config) }, (run) => {
      this.#o.onRunStarted?.(run);
      return this.#run(run, config, { ...request, config: train }, undefined);
    });
  }

  /**
   * Continues an interrupted (or stopped, or failed) training run from its last checkpoint, on the same rows.
   * `rows` gives the training rows for the stored config (the Training tab rebuilds them from its samples).
   */
  async resume(trainingRunId: string, rows: (config: TrainingRunConfig) => Promise<TrainRequest<TfjsTrainConfig>['rows']>, signal?: AbortSignal, onProgress?: TrainRequest['onProgress']): Promise<TrainOutcome> {
    const { db, engine, checkpoints } = this.#o;
    const row = await db.trainingRuns.get(trainingRunId);
    const refuse = trainingResumeRefusal(row);
    if (refuse) throw refuse;
    const config = parseTrainingConfig(row!.config);
    if (engine.modelId !== config.baseModelId) {
      throw new AppError('bad-input', `This training run trains ${config.baseModelId}, but ${engine.modelId ?? 'no model'} is loaded. Load ${config.baseModelId}, then resume.`);
    }
    const checkpoint = await checkpoints.load(trainingRunId);
    if (!checkpoint) {
      throw new AppError('not-found', 'No checkpoint of this training run was saved (it stopped before its first checkpoint, or it was cleared or damaged). Start a new training run instead.');
    }
    const trainRows = await rows(config);
    await ensureAdapters(engine, db, [config.fromAdapterId]);
    const request = { method: config.method, rows: trainRows, fromAdapterId: config.fromAdapterId, config: config.train, label: config.name, signal, onProgress } as TrainRequest<TfjsTrainConfig>;
    return resumeTrainingRun(db, this.#o.locks, trainingRunId, (run) => {
      this.#o.onRunStarted?.(run);
      return this.#run(run, config, request, checkpoint);
    });
  }

  async #run(run: TrainingRun, config: TrainingRunConfig, request: TrainRequest<TfjsTrainConfig>, resume: { step: number; files: Record<string, Uint8Array> } | undefined): Promise<TrainOutcome> {
    const { db, engine, checkpoints } = this.#o;
    const metrics = new MetricWriter(db, run.id);
    let totalSteps: number | null = null;
    const saver = new CheckpointSaver(checkpoints, run.id, {
      totalSteps: () => totalSteps,
      // The curve up to a checkpoint is stored before it counts, so a resume from it finds every earlier point.
      beforeSave: () => metrics.settled(),
      onReport: (r) => {
        if (r.kind === 'failed') console.warn(r.error.message);
        this.#o.onCheckpoint?.(run.id, r);
      },
      lastGood: resume?.step ?? null,
    });
    const adapterId = config.adapterId;
    const inner = new TfjsTrainer(engine, {
      newAdapterId: () => adapterId,
      gguf: this.#o.gguf !== false,
      onEvent: (m) => {
        if (m.kind === 'step') {
          metrics.push({ step: m.step, loss: m.loss, lr: m.lr, tokensPerSec: m.tokensPerSec, gradNorm: m.gradNorm, memoryBytes: m.memoryBytes, elapsedMs: m.elapsedMs });
        } else if (m.kind === 'prepared') {
          totalSteps = m.totalSteps;
        } else if (m.kind === 'status' && m.status === 'paused') {
          metrics.writeNow();
        } else if (m.kind === 'checkpoint') {
          metrics.writeNow();
          saver.offer(m.step, m.files);
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
      const out = await inner.train({ ...request, adapterId, resume: resume?.files });
      await saver.drain();
      await checkpoints.remove(run.id).catch(() => undefined);
      return out;
    } finally {
      this.#inner = null;
      await metrics.flush().catch(() => undefined);
      await saver.drain();
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
