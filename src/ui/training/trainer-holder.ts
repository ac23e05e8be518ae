/**
 * Which job holds the origin's trainer (db/trainer-lock.ts), in words, relative to the job that asked for it:
 * "a training run (“My adapter”) of this experiment is running in another tab", or, when the holder is the
 * very run that was asked for, that it is already being resumed (and waiting for it would make no sense).
 */
import type { StudioDb } from '../../db/db.ts';
import type { TrainerHolder, TrainerJob } from '../../db/trainer-lock.ts';
import { parseTrainingConfig } from './training-config.ts';

export interface TrainerRefusal {
  /** Which job holds the trainer and where, for people. */
  text: string;
  /** The same while this tab waits for it. */
  waitText: string;
  /** Waiting makes sense (not when the holder is this very run, resumed elsewhere). */
  canWait: boolean;
}

const WHAT: Record<TrainerJob['kind'], string> = {
  train: 'a training run',
  'resume-training': 'a resumed training run',
  self: 'a SELF run',
  'resume-self': 'a resumed SELF run',
  srt: 'an SRT run',
  'resume-srt': 'a resumed SRT run',
};

/** The name of the run a holder trains: its label, else (a resumed training run) its row's name. */
async function holderName(db: StudioDb, job: TrainerJob): Promise<string | null> {
  if (job.label) return job.label;
  if (job.kind !== 'resume-training' || !job.runId) return null;
  const row = await db.trainingRuns.get(job.runId);
  try {
    return row ? parseTrainingConfig(row.config).name : null;
  } catch {
    return null;
  }
}

/** Says which job holds the trainer, relative to the job that asked. */
export async function describeHolder(db: StudioDb, holder: TrainerHolder | null, asked: TrainerJob): Promise<TrainerRefusal> {
  const where = holder?.here ? 'in this tab' : 'in another tab';
  const job = holder?.job ?? null;
  const refusal = (holder: string): TrainerRefusal => ({
    text: `The trainer is busy: ${holder} ${where}. One training job runs at a time in this browser.`,
    waitText: `Waiting for the trainer: ${holder} ${where}; this job starts when it ends.`,
    canWait: true,
  });
  if (!job) return refusal('a training job is starting');
  if (asked.runId !== null && job.runId === asked.runId) {
    const text = `This run is already being resumed ${where}; it is not started a second time.`;
    return { text, waitText: text, canWait: false };
  }
  const name = await holderName(db, job);
  const experiment = job.experimentId === asked.experimentId ? 'this experiment' : `“${(await db.experiments.get(job.experimentId))?.name ?? 'another experiment'}”`;
  return refusal(`${WHAT[job.kind]}${name ? ` (“${name}”)` : ''} of ${experiment} is running`);
}

