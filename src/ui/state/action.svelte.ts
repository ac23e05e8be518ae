/**
 * An async action a person starts (a button): `.pending` is true while it runs (show a busy state, disable
 * the button), and a failure is never lost. An `inline` action keeps its failure in `.error`, for the
 * component to show next to the button that started it (ActionNote); the others go to the app's error
 * banner. Starting the action again clears its old error, and a success clears the banner's errors of the
 * same action, so no stale message stays once its cause is gone. An inline error thrown as a StateError
 * (state-error.ts) also clears by itself as soon as the state that caused it no longer holds.
 */
import { describeError, type ShownError } from '../lib/errors.ts';
import type { AppState } from './app.svelte.ts';
import { StateError } from './state-error.ts';

export class Action<A extends unknown[], R> {
  pending = $state(false);
  #error = $state.raw<ShownError | null>(null);
  /** The cause of #error, when it is a state the page can see (StateError.holds); null for other errors. */
  #holds: (() => boolean) | null = null;
  readonly #app: AppState;
  readonly #label: string;
  readonly #fn: (...args: A) => Promise<R>;
  readonly #inline: boolean;

  /** `label` completes "while trying to …" in unexpected-error messages. */
  constructor(app: AppState, label: string, fn: (...args: A) => Promise<R>, opts: { inline?: boolean } = {}) {
    this.#app = app;
    this.#label = label;
    this.#fn = fn;
    this.#inline = opts.inline ?? false;
  }

  /** Runs the action unless it is already running. Resolves to its result, or undefined if it failed. */
  run = async (...args: A): Promise<R | undefined> => {
    if (this.pending) return undefined;
    this.pending = true;
    this.clear();
    try {
      const out = await this.#fn(...args);
      this.#app.settle(this.#label);
      return out;
    } catch (e) {
      if (this.#inline) {
        this.#holds = e instanceof StateError ? e.holds : null;
        this.#error = describeError(e, this.#label);
      } else this.#app.report(e, this.#label);
      return undefined;
    } finally {
      this.pending = false;
    }
  };

  /** The last failure of an inline action: null after a success, a new start or dismissing it, and once its cause
   *  (for a StateError) no longer holds. */
  get error(): ShownError | null {
    const e = this.#error;
    return e && this.#holds && !this.#holds() ? null : e;
  }

  /** Clears the inline error (the person dismissed it, or the action starts again). */
  clear(): void {
    this.#error = null;
    this.#holds = null;
  }
}
