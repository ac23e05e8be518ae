/**
 * What a training run's checkpoint is good for, said once at start-up: every training run just marked
 * interrupted gets a message that says exactly what is kept ("It resumes from step 180 of 400") or that
 * nothing can be resumed and why; checkpoint folders of runs that no longer exist or can no longer resume are
 * removed, and the strays of a failed save with them. Folders of runs still running (in another tab) are
 * left alone. The result is kept for the Settings page.
 */
import { TRAINING_INTERRUPTED_MESSAGE } from '../../db/locks.ts';
import type { StudioDb } from '../../db/db.ts';
import type { TrainingRun } from '../../db/types.ts';
import type { CheckpointInfo, CheckpointStore } from './checkpoint-store.ts';
import { parseTrainingConfig } from './training-config.ts';

export type Resumability = { ok: true; step: number; totalSteps: number | null } | { ok: false; reason: string };

/**
 * Whether a training run can continue from its checkpoint (`latest`, null when none is complete), and if not
 * why. `missingSamples`: how many of the samples it trained on are gone. Pure.
 */
export function resumability(run: TrainingRun | undefined, latest: CheckpointInfo | null, missingSamples = 0): Resumability {
  if (!run) return { ok: false, reason: 'its training run no longer exists' };
  if (run.status === 'done') return { ok: false, reason: 'it has finished' };
  let config;
  try {
    config = parseTrainingConfig(run.config);
  } catch {
    return { ok: false, reason: 'its stored settings cannot be read' };
  }
  if (config.origin.kind !== 'manual') {
    return { ok: false, reason: `it is the training of ${config.origin.kind === 'self' ? 'a SELF' : 'an SRT'} run, which trains this phase again from its start when you resume that run` };
  }
  if (missingSamples > 0) return { ok: false, reason: `${missingSamples} of the samples it trained on were deleted` };
  if (latest) return { ok: true, step: latest.step, totalSteps: latest.totalSteps };
  const { checkpointEvery: every, checkpointSeconds: seconds } = config.train;
  if (every === 0 && seconds === 0) return { ok: false, reason: 'checkpoints were off for it (checkpoint every 0 steps and 0 seconds)' };
  const due = [every > 0 ? `after step ${every}` : null, seconds > 0 ? `after ${seconds} s of training` : null].filter(Boolean).join(' or ');
  return { ok: false, reason: `it stopped before its first checkpoint was saved (due ${due})` };
}

/** "from step 180 of 400" / "from step 180". */
export function resumePoint(r: { step: number; totalSteps: number | null }): string {
  return `from step ${r.step}${r.totalSteps !== null ? ` of ${r.totalSteps}` : ''}`;
}

/** The message of a training run cut off by a reload. `reached`: the last step of its stored loss curve. */
export function interruptedTrainingMessage(r: Resumability, reached: number | null): string {
  const at = reached !== null ? ` It had reached step ${reached}.` : '';
  if (r.ok) return `${TRAINING_INTERRUPTED_MESSAGE}${at} It resumes ${resumePoint(r)} (its last checkpoint); the steps after that are trained again.`;
  return `${TRAINING_INTERRUPTED_MESSAGE}${at} Nothing can be resumed: ${r.reason}.`;
}

async function missingSamples(db: StudioDb, run: TrainingRun | undefined): Promise<number> {
  if (!run) return 0;
  try {
    const ids = parseTrainingConfig(run.config).sampleIds;
    return ids ? (await db.samples.bulkGet(ids)).filter((s) => s === undefined).length : 0;
  } catch {
    return 0;
  }
}

/** A run's resumability from the store and the database. */
export async function checkResumable(db: StudioDb, store: CheckpointStore, trainingRunId: string): Promise<Resumability> {
  const run = await db.trainingRuns.get(trainingRunId);
  return resumability(run, run ? await store.latest(trainingRunId) : null, await missingSamples(db, run));
}

export interface CheckpointReview {
  /** Folders removed (runs gone or unable to resume) and the bytes freed, strays of failed saves included. */
  removed: number;
  freedBytes: number;
  /** Folders kept, and the bytes they take. */
  kept: number;
  keptBytes: number;
}

let lastReview: CheckpointReview | null = null;

/** The start-up review of this page, once it ran. */
export function startupReview(): CheckpointReview | null {
  return lastReview;
}

/** Names what each just-interrupted training run keeps, then cleans the checkpoint folders. */
export async function reviewCheckpoints(db: StudioDb, store: CheckpointStore, interruptedIds: readonly string[]): Promise<CheckpointReview> {
  for (const id of interruptedIds) {
    const run = await db.trainingRuns.get(id);
    if (run?.status !== 'interrupted') continue; // a run, not a training run (or resumed meanwhile)
    const r = await checkResumable(db, store, id);
    const reached = (await db.trainingMetrics.where('[trainingRunId+step]').between([id, 0], [id, Infinity]).last())?.step ?? null;
    await db.trainingRuns.where('id').equals(id).and((x) => x.status === 'interrupted').modify({ error: interruptedTrainingMessage(r, reached) });
  }
  const review: CheckpointReview = { removed: 0, freedBytes: 0, kept: 0, keptBytes: 0 };
  for (const folder of await store.list()) {
    const run = await db.trainingRuns.get(folder.trainingRunId);
    if (run?.status === 'running') {
      review.kept++;
      review.keptBytes += folder.bytes;
      continue;
    }
    const r = resumability(run, folder.latest, await missingSamples(db, run));
    if (!r.ok) {
      await store.remove(folder.trainingRunId);
      review.removed++;
      review.freedBytes += folder.bytes;
    } else {
      const freed = await store.tidy(folder.trainingRunId);
      review.freedBytes += freed;
      review.kept++;
      review.keptBytes += folder.bytes - freed;
    }
  }
  lastReview = review;
  return review;
}
