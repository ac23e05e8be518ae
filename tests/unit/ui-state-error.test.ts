/**
 * An inline error whose cause is a state the page can see (StateError) clears by itself when that state changes —
 * a task chosen, tasks imported, the model loaded elsewhere — as well as when the action runs again or is
 * dismissed; other errors stay until then. The banner hides a StateError the same way.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { Action } from '../../src/ui/state/action.svelte.ts';
import { AppState } from '../../src/ui/state/app.svelte.ts';
import { refuseWhile, StateError } from '../../src/ui/state/state-error.ts';

/** The cause (in the page it is reactive state, which the ActionNote's template re-reads; here a plain field). */
class Flag {
  on = true;
}

describe('errors that clear when their cause goes away', () => {
  it('an inline StateError is shown while its cause holds, and goes when it does not', async () => {
    const app = new AppState();
    const noTask = new Flag();
    const start = new Action(app, 'start the loop', async () => refuseWhile(() => noTask.on, 'Choose a task first.'), { inline: true });
    await start.run();
    expect(start.error).toEqual({ code: 'bad-input', message: 'Choose a task first.' });
    noTask.on = false; // e.g. tasks imported: the Playground chooses the first one
    expect(start.error).toBeNull();
  });

  it('refuseWhile does nothing while the cause is absent; other errors stay until a new run or Dismiss', async () => {
    const app = new AppState();
    const flag = new Flag();
    flag.on = false;
    let fail = true;
    const a = new Action(app, 'do it', async () => {
      refuseWhile(() => flag.on, 'never');
      if (fail) throw new AppError('engine', 'The engine stopped.');
      return 1;
    }, { inline: true });
    expect(await a.run()).toBeUndefined();
    expect(a.error?.message).toBe('The engine stopped.');
    flag.on = true;
    flag.on = false;
    expect(a.error?.message).toBe('The engine stopped.');
    a.clear();
    expect(a.error).toBeNull();
    fail = false;
    await a.run();
    expect(a.error).toBeNull();
    expect(await a.run()).toBe(1);
  });

  it('the banner hides a StateError once its cause is gone, and keeps the others', () => {
    const app = new AppState();
    const unloaded = new Flag();
    app.report(new StateError('bad-input', 'Load the folder model first.', () => unloaded.on), 'start the batch');
    app.report(new AppError('network', 'Offline.'), 'fetch');
    expect(app.shownErrors.map((e) => e.message)).toEqual(['Load the folder model first.', 'Offline.']);
    unloaded.on = false;
    expect(app.shownErrors.map((e) => e.message)).toEqual(['Offline.']);
  });
});
