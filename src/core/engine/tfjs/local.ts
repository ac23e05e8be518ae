/**
 * The tfjs engine and trainer in the same thread as their caller: the host's handlers called directly
 * (local-caller.ts) instead of through a worker. For Node (CLI, tests, SELF experiments); see node-local.ts
 * for Node's host dependencies. In the page, use TfjsWorkerEngine / TfjsWorkerTrainer instead.
 */
import { TfjsEngineBase, type TfjsCaller, type TfjsEngineOptions } from './engine.ts';
import { createTfjsHost, type TfjsHostDeps } from './host.ts';
import { localCaller } from './local-caller.ts';
import { TfjsTrainer, type TfjsTrainerOptions } from './trainer.ts';

export interface TfjsLocalEngineOptions extends TfjsEngineOptions {
  /** Where the wasm files are, how to open folders, caching (Node: nodeTfjsHostDeps()). */
  host: TfjsHostDeps;
}

export class TfjsLocalEngine extends TfjsEngineBase {
  readonly #caller: TfjsCaller;

  constructor(options: TfjsLocalEngineOptions) {
    super(options);
    this.#caller = localCaller(createTfjsHost(options.host));
  }

  protected caller(): TfjsCaller {
    return this.#caller;
  }
}

/** The refine Trainer on an in-process engine: adapters it trains are usable by `engine` at once. */
export class TfjsLocalTrainer extends TfjsTrainer {
  constructor(engine: TfjsLocalEngine, options: TfjsTrainerOptions = {}) {
    super(engine, options);
  }
}
