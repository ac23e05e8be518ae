/**
 * The app's shared state: the open database, the error banner, and the "storage changed elsewhere, reload"
 * flag. One instance, made by App.svelte and handed to components through context (context.ts).
 */
import { AppError } from '../../core/errors.ts';
import { openStudioDb, type StudioDb } from '../../db/db.ts';
import { markInterruptedRuns, type LockManagerLike } from '../../db/locks.ts';
import { requestPersistenceOnce } from '../../db/storage.ts';
import { describeError, type ShownError } from '../lib/errors.ts';
import { StateError } from './state-error.ts';
import { reviewCheckpoints } from '../training/checkpoint-review.ts';
import { pageCheckpointStore } from '../training/checkpoint-store.ts';

export interface BannerError extends ShownError {
  id: number;
  /** The action that failed ("start SELF"), so its success can clear the message. */
  action?: string;
  /** For a StateError: whether its cause still holds (the banner hides it once it does not). */
  holds?: () => boolean;
}

export type Phase = 'opening' | 'ready' | 'failed';

export class AppState {
  phase = $state<Phase>('opening');
  db = $state.raw<StudioDb | null>(null);
  /** Why the storage could not be opened (phase 'failed'). */
  fatal = $state.raw<ShownError | null>(null);
  /** Another tab upgraded or deleted the database: this page must be reloaded. */
  connectionLost = $state(false);
  /** This tab's upgrade waits for an older tab to close. */
  upgradeBlocked = $state(false);
  errors = $state<BannerError[]>([]);
  /** A short success message (e.g. after an import), dismissible. */
  notice = $state<string | null>(null);
  #nextErrorId = 1;

  /** The open database; components below App only render once it is open. */
  get database(): StudioDb {
    if (!this.db) throw new AppError('internal', 'The storage is not open yet. Reload the page.');
    return this.db;
  }

  /** The Web Locks API (null in browsers without it: interrupted runs are then not detected). */
  get locks(): LockManagerLike | null {
    return typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null;
  }

  async start(): Promise<void> {
    let db: StudioDb;
    try {
      db = await openStudioDb({
        onConnectionLost: () => {
          this.connectionLost = true;
        },
        onBlocked: () => {
          this.upgradeBlocked = true;
        },
      });
    } catch (e) {
      this.fatal = describeError(e, 'open the storage');
      this.phase = 'failed';
      return;
    }
    // Runs left 'running' by a closed, reloaded or crashed tab show as interrupted from the first paint.
    const locks = this.locks;
    const interrupted = locks ? await markInterruptedRuns(db, locks).catch((e: unknown) => void this.report(e, 'check for interrupted runs')) : [];
    // …and a training run's message says what its checkpoint keeps; unusable checkpoints are removed.
    await reviewCheckpoints(db, pageCheckpointStore(), interrupted ?? []).catch((e: unknown) => this.report(e, 'check the training checkpoints'));
    this.db = db;
    this.phase = 'ready';
    if (navigator.storage) {
      requestPersistenceOnce(db, navigator.storage).catch((e: unknown) => this.report(e, 'ask for persistent storage'));
    }
  }

  report(e: unknown, action?: string): void {
    const shown = describeError(e, action);
    if (this.connectionLost && shown.code === 'schema-newer') return; // the reload banner already says it
    this.errors.push({ ...shown, id: this.#nextErrorId++, ...(action ? { action } : {}), ...(e instanceof StateError ? { holds: e.holds } : {}) });
  }

  /** The errors to show: a StateError's only while its cause holds. */
  get shownErrors(): BannerError[] {
    return this.errors.filter((e) => !e.holds || e.holds());
  }

  /** The action succeeded: its earlier failures are no longer true. */
  settle(action: string): void {
    if (this.errors.some((e) => e.action === action)) this.errors = this.errors.filter((e) => e.action !== action);
  }

  dismiss(id: number): void {
    this.errors = this.errors.filter((e) => e.id !== id);
  }

  say(notice: string): void {
    this.notice = notice;
  }
}
