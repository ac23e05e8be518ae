/**
 * An error whose cause is a state the page can see (no task chosen, the model not loaded, no critic, no train
 * prompts): `holds()` says whether the cause is still there. An inline Action shows it only while it holds, so it
 * clears by itself when the cause goes away elsewhere (the model loaded from the Engines panel, tasks imported),
 * not only when the action is run again or dismissed. `holds` must read reactive state (runes) to clear live.
 */
import { AppError, type ErrorCode } from '../../core/errors.ts';

export class StateError extends AppError {
  readonly holds: () => boolean;
  constructor(code: ErrorCode, message: string, holds: () => boolean) {
    super(code, message);
    this.holds = holds;
  }
}

/** Throws a StateError when `holds()` is true now. */
export function refuseWhile(holds: () => boolean, message: string, code: ErrorCode = 'bad-input'): void {
  if (holds()) throw new StateError(code, message, holds);
}
