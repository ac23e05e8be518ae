/** What the SELF, SRT, evaluation and training runners need from the page: storage, Web Locks, checkpoints. */
import { AppError } from '../../core/errors.ts';
import type { StudioDb } from '../../db/db.ts';
import type { LockManagerLike } from '../../db/locks.ts';
import type { AppState } from './app.svelte.ts';
import { pageCheckpointStore, type CheckpointStore } from '../training/checkpoint-store.ts';

export interface PageDeps {
  db: StudioDb;
  locks: LockManagerLike;
  checkpoints: CheckpointStore;
}

export function pageDeps(app: AppState): PageDeps {
  const locks = app.locks;
  if (!locks) {
    throw new AppError('unsupported', 'This browser lacks the Web Locks API, which keeps runs safe across tabs. Use a recent Chrome, Edge, Firefox or Safari.');
  }
  return { db: app.database, locks, checkpoints: pageCheckpointStore() };
}
