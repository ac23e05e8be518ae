/**
 * An async action a person starts (a button): `.pending` is true while it runs (show a busy state, disable
 * the button), and a failure goes to the app's error banner instead of being lost.
 */
import type { AppState } from './app.svelte.ts';

export class Action<A extends unknown[], R> {
  pending = $state(false);
  readonly #app: AppState;
  readonly #label: string;
  readonly #fn: (...args: A) => Promise<R>;

  /** `label` completes "while trying to …" in unexpected-error messages. */
  constructor(app: AppState, label: string, fn: (...args: A) => Promise<R>) {
    this.#app = app;
    this.#label = label;
    this.#fn = fn;
  }

  /** Runs the action unless it is already running. Resolves to its result, or undefined if it failed. */
  run = async (...args: A): Promise<R | undefined> => {
    if (this.pending) return undefined;
    this.pending = true;
    try {
      return await this.#fn(...args);
    } catch (e) {
      this.#app.report(e, this.#label);
      return undefined;
    } finally {
      this.pending = false;
    }
  };
}
