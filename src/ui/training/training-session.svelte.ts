/**
 * The Training tab's run of one experiment for the life of the page: a StoredTrainer on the page's tfjs
 * engine, its live view (training-live.ts), and pause / resume / stop. Starting trains the included samples
 * of the chosen method; resuming continues an interrupted training run from its last checkpoint.
 */
import { AppError } from '../../core/errors.ts';
import type { LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import type { TfjsTrainConfig } from '../../core/engine/tfjs/api.ts';
import { listSamples } from '../../db/samples.ts';
import type { Sample } from '../../db/types.ts';
import { requireTrainingSamples, trainingRows } from '../samples/sample-rows.ts';
import { jobFor, type JobSession } from '../state/job.svelte.ts';
import type { PageDeps } from '../state/deps.ts';
import type { AppState } from '../state/app.svelte.ts';
import { StoredTrainer } from './stored-trainer.ts';
import type { TrainingRunConfig } from './training-config.ts';
import { EMPTY_TRAIN_LIVE, nextTrainLive, withCheckpointReport, type TrainLive } from './training-live.ts';

export interface StartTraining {
  engine: LoraTrainingEngine;
  method: 'sft' | 'dpo';
  name: string;
  fromAdapterId: string | null;
  config: TfjsTrainConfig;
}

export class TrainingSession {
  readonly job: JobSession<TrainLive>;
  paused = $state(false);
  readonly #experimentId: string;
  #trainer: StoredTrainer | null = null;

  constructor(app: AppState, experimentId: string) {
    this.job = jobFor<TrainLive>(app, 'training', experimentId, 'train the adapter');
    this.#experimentId = experimentId;
  }

  #trainerFor(deps: PageDeps, engine: LoraTrainingEngine, report: { row: (id: string) => void; live: (l: TrainLive) => void }, firstStep: () => number): StoredTrainer {
    // A resumed run starts with its checkpoint on disk.
    let view: TrainLive = { ...EMPTY_TRAIN_LIVE, lastCheckpoint: firstStep() || null };
    const trainer = new StoredTrainer({
      ...deps,
      experimentId: this.#experimentId,
      engine,
      origin: { kind: 'manual', runId: null },
      onRunStarted: (run) => report.row(run.id),
      onEvent: (e) => {
        view = nextTrainLive(view, e.message, e, firstStep());
        if (e.message.kind === 'status') this.paused = e.message.status === 'paused';
        report.live(view);
      },
      onCheckpoint: (_id, r) => {
        view = withCheckpointReport(view, r);
        report.live(view);
      },
    });
    this.#trainer = trainer;
    return trainer;
  }

  async start(deps: PageDeps, s: StartTraining): Promise<void> {
    const samples = requireTrainingSamples(await listSamples(deps.db, this.#experimentId), s.method);
    const rows = trainingRows(samples, s.method);
    this.paused = false;
    await this.job.run(async (signal, report) => {
      const trainer = this.#trainerFor(deps, s.engine, report, () => 0);
      try {
        return await trainer.train({
          method: s.method,
          rows,
          sampleIds: samples.map((x) => x.id),
          fromAdapterId: s.fromAdapterId,
          config: s.config,
          label: s.name.trim() || 'adapter',
          signal,
        } as Parameters<StoredTrainer['train']>[0]);
      } finally {
        this.#trainer = null;
        this.paused = false;
      }
    });
  }

  async resume(deps: PageDeps, engine: LoraTrainingEngine, trainingRunId: string): Promise<void> {
    const step = (await deps.checkpoints.latest(trainingRunId))?.step ?? 0;
    this.paused = false;
    await this.job.run(async (signal, report) => {
      const trainer = this.#trainerFor(deps, engine, report, () => step);
      try {
        return await trainer.resume(trainingRunId, (config) => rowsFor(deps, config), signal);
      } finally {
        this.#trainer = null;
        this.paused = false;
      }
    });
  }

  async pause(): Promise<void> {
    this.paused = (await this.#trainer?.pause()) ?? false;
  }

  async unpause(): Promise<void> {
    this.paused = (await this.#trainer?.resumePaused()) ?? false;
  }

  stop(): void {
    this.job.stop();
  }
}

/** The rows a stored training run trained on: its samples, by id, in order. */
async function rowsFor(deps: PageDeps, config: TrainingRunConfig) {
  if (!config.sampleIds) throw new AppError('bad-input', 'This training run was made by a SELF or SRT run, which retrains from its phase start instead: resume that run.');
  const found = (await deps.db.samples.bulkGet(config.sampleIds)).filter((s): s is Sample => s !== undefined);
  if (found.length !== config.sampleIds.length) {
    throw new AppError('not-found', `${config.sampleIds.length - found.length} of the samples this run trained on were deleted, so it cannot resume exactly. Start a new training run.`);
  }
  const rows = trainingRows(found.map((s) => ({ ...s, included: true })), config.method);
  if (rows.length === 0) throw new AppError('not-found', 'None of the samples this run trained on can be used any more. Start a new training run.');
  return rows;
}

const sessions = new Map<string, TrainingSession>();

export function trainingFor(app: AppState, experimentId: string): TrainingSession {
  let s = sessions.get(experimentId);
  if (!s) sessions.set(experimentId, (s = new TrainingSession(app, experimentId)));
  return s;
}
