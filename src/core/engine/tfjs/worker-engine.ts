/**
 * The page side of the tfjs engine: TfjsWorkerEngine (a ChatEngine plus adapters, backend info and training)
 * whose work happens in workers/tfjs.worker.ts, reached through the typed protocol; and TfjsWorkerTrainer,
 * the refine Trainer on the same worker, so adapters it trains serve generation right away. A crashed worker
 * fails its calls with a typed error; the next call starts a fresh worker (load the model again).
 * Nothing here imports tfjs: the page bundle stays small, tfjs lives in the worker's chunk.
 */
import type { Endpoint } from '../protocol.ts';
import { createWorkerClient, type WorkerClient } from '../protocol-client.ts';
import type { TfjsApi } from './api.ts';
import { TfjsEngineBase, type TfjsCaller, type TfjsEngineOptions } from './engine.ts';
import { spawnTfjsWorker } from './spawn.ts';
import { TfjsTrainer, type TfjsTrainerOptions } from './trainer.ts';

export interface TfjsWorkerEngineOptions extends TfjsEngineOptions {
  /** Starts the worker (default: workers/tfjs.worker.ts as a module worker), or any endpoint serving TfjsApi. */
  spawn?: () => Endpoint;
}

export class TfjsWorkerEngine extends TfjsEngineBase {
  readonly #spawn: () => Endpoint;
  #client: WorkerClient<TfjsApi> | null = null;

  constructor(options: TfjsWorkerEngineOptions) {
    super(options);
    this.#spawn = options.spawn ?? spawnTfjsWorker;
  }

  protected caller(): TfjsCaller {
    if (this.#client && !this.#client.failure) return this.#client;
    const client = createWorkerClient<TfjsApi>(this.#spawn(), 'the tfjs worker');
    client.onFailure(() => this.forget()); // the model and its adapters went with the worker
    this.#client = client;
    return client;
  }

  /** Stops the worker (and frees its memory). The engine can be used again: the next call starts a new one. */
  dispose(): void {
    this.#client?.close('The tfjs engine was closed.');
    this.#client = null;
    this.forget();
  }
}

/** The refine Trainer on a worker engine: trains in the engine's worker, pause/resume/abort, progress events. */
export class TfjsWorkerTrainer extends TfjsTrainer {
  constructor(engine: TfjsWorkerEngine, options: TfjsTrainerOptions = {}) {
    super(engine, options);
  }
}
