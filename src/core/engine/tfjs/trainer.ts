/**
 * The Trainer that SELF and SRT call (src/core/train/trainer.ts) on an engine that trains LoRA (the tfjs
 * engine): LoRA training in the engine's host, so the adapter it makes is at once usable for generation
 * (ChatRequest.adapterId) in the same engine.
 * The trainer chooses each new adapter's id and hands the adapter's files to `onAdapter` before `train`
 * resolves, so the caller can store them (IndexedDB, a folder) and add them again after a reload.
 * Pause / resume / abort act on the run in progress; every progress message reaches `onEvent`.
 */
import { AppError } from '../../errors.ts';
import type { LoraTrainingEngine } from '../capabilities.ts';
import type { TrainOutcome, TrainRequest, Trainer } from '../../train/trainer.ts';
import type { AdapterFiles, TfjsTrainConfig, TrainProgressMessage, TrainResultInfo } from './api.ts';

/** What `onAdapter` learns about a trained adapter besides its files. */
export interface TrainedAdapterInfo {
  adapterId: string;
  label: string;
  method: 'sft' | 'dpo';
  fromAdapterId: string | null;
  config: TfjsTrainConfig;
  result: Omit<TrainResultInfo, 'files'>;
}

export interface TfjsTrainerOptions {
  /** The id of each new adapter (default: `adapter-<time>-<random>`). */
  newAdapterId?: (request: { label: string; method: 'sft' | 'dpo' }) => string | Promise<string>;
  /**
   * Stores a trained adapter's files (awaited before train() resolves). If it throws, the adapter is removed
   * from the engine again and train() rejects with that error: nothing is half-made.
   */
  onAdapter?: (files: AdapterFiles, info: TrainedAdapterInfo) => void | Promise<void>;
  /** Every progress message of a run: status, data summary, steps, checkpoints (with their files). */
  onEvent?: (message: TrainProgressMessage, adapterId: string) => void;
  /** Also export adapter.gguf with each adapter. */
  gguf?: boolean;
}

/** A refine TrainRequest, plus what only this trainer understands. */
export type TfjsTrainRequest = TrainRequest<TfjsTrainConfig> & {
  /** Use this id instead of a new one. */
  adapterId?: string;
  /** Continue an interrupted run from a checkpoint's files. */
  resume?: Record<string, Uint8Array>;
};

function defaultAdapterId(): string {
  const rand = Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return `adapter-${Date.now().toString(36)}-${rand}`;
}

export class TfjsTrainer implements Trainer<TfjsTrainConfig> {
  readonly #engine: LoraTrainingEngine;
  readonly #options: TfjsTrainerOptions;
  #run: AbortController | null = null;

  constructor(engine: LoraTrainingEngine, options: TfjsTrainerOptions = {}) {
    this.#engine = engine;
    this.#options = options;
  }

  /** True while a run is in progress. */
  get running(): boolean {
    return this.#run !== null;
  }

  async train(request: TfjsTrainRequest): Promise<TrainOutcome> {
    if (this.#run) throw new AppError('bad-input', 'A training run is already in progress; wait for it or stop it first.');
    const run = new AbortController();
    this.#run = run;
    const stop = (): void => run.abort(new AppError('aborted', 'Stopped.'));
    if (request.signal?.aborted) stop();
    request.signal?.addEventListener('abort', stop, { once: true });
    try {
      const adapterId = request.adapterId ?? (await (this.#options.newAdapterId ?? defaultAdapterId)({ label: request.label, method: request.method }));
      const data = request.method === 'sft' ? { method: 'sft' as const, rows: request.rows } : { method: 'dpo' as const, rows: request.rows };
      let loss: number | null = null;
      let totalSteps = 0;
      const result = await this.#engine.train(
        { adapterId, fromAdapterId: request.fromAdapterId, data, config: request.config, resume: request.resume, gguf: this.#options.gguf === true },
        {
          signal: run.signal,
          onProgress: (m) => {
            if (m.kind === 'step') {
              loss = m.loss;
              totalSteps = m.totalSteps;
              request.onProgress?.({ step: m.step, totalSteps: m.totalSteps, loss, ...(m.fraction !== undefined ? { fraction: m.fraction } : {}), ...(m.dpo ? { dpo: m.dpo } : {}) });
            } else if (m.kind === 'prepared') {
              totalSteps = m.totalSteps;
              request.onProgress?.({ step: 0, totalSteps: m.totalSteps, loss });
            } else if (m.kind === 'after') {
              const { kind: _, fraction, ...after } = m;
              request.onProgress?.({ step: totalSteps, totalSteps, loss, fraction, after });
            }
            this.#options.onEvent?.(m, adapterId);
          },
        },
      );
      const { files, ...rest } = result;
      try {
        await this.#options.onAdapter?.(files, { adapterId, label: request.label, method: request.method, fromAdapterId: request.fromAdapterId, config: request.config, result: rest });
      } catch (e) {
        await this.#engine.removeAdapter(adapterId).catch(() => undefined);
        throw e;
      }
      const metrics: Record<string, number> = { steps: rest.steps, seconds: rest.seconds, examples: rest.examples, truncated: rest.truncated };
      if (rest.finalLoss !== null) metrics.finalLoss = rest.finalLoss;
      return { adapterId, metrics };
    } finally {
      request.signal?.removeEventListener('abort', stop);
      this.#run = null;
    }
  }

  /** Pauses the run in progress before its next step. Resolves with whether it is paused. */
  pause(): Promise<boolean> {
    return this.#engine.pauseTraining();
  }

  resume(): Promise<boolean> {
    return this.#engine.resumeTraining();
  }

  /** Stops the run in progress (train() rejects with AppError('aborted')); the engine keeps its other adapters. */
  abort(): void {
    this.#run?.abort(new AppError('aborted', 'Stopped.'));
  }
}
