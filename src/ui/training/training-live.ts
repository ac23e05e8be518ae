/**
 * The training run on screen, as one immutable view built from the trainer's progress messages: step and
 * total, loss curve so far, learning rate, tokens/s, memory, ETA, paused — and checkpoints as their saves
 * went (CheckpointReport), not as the trainer offered them: the last checkpoint shown is one a reload can
 * resume from. Pure (tested in Node).
 */
import type { TrainProgressMessage } from '../../core/engine/tfjs/api.ts';
import { estimateProgress } from '../../core/refine/progress.ts';
import type { CheckpointReport } from './checkpoint-saver.ts';

export interface TrainLive {
  trainingRunId: string | null;
  adapterId: string | null;
  status: 'preparing' | 'running' | 'paused';
  step: number;
  totalSteps: number;
  loss: number | null;
  lr: number | null;
  tokensPerSec: number | null;
  memoryBytes: number | null;
  elapsedMs: number;
  etaMs: number | null;
  examples: number | null;
  truncated: number | null;
  /** The step of the last checkpoint saved and read back (what a reload resumes from). */
  lastCheckpoint: number | null;
  /** The last save that failed, until a later one succeeds (its message names the cause). */
  checkpointFailure: { step: number; message: string; quota: boolean } | null;
  /** Saves that failed in this run so far. */
  failedSaves: number;
  /** The loss curve so far (step, loss). */
  points: { x: number; y: number }[];
}

export const EMPTY_TRAIN_LIVE: TrainLive = {
  trainingRunId: null,
  adapterId: null,
  status: 'preparing',
  step: 0,
  totalSteps: 0,
  loss: null,
  lr: null,
  tokensPerSec: null,
  memoryBytes: null,
  elapsedMs: 0,
  etaMs: null,
  examples: null,
  truncated: null,
  lastCheckpoint: null,
  checkpointFailure: null,
  failedSaves: 0,
  points: [],
};

/** The view after one more message. `firstStep` is the step a resumed run started from (for the ETA). */
export function nextTrainLive(v: TrainLive, m: TrainProgressMessage, ids: { trainingRunId: string; adapterId: string }, firstStep = 0): TrainLive {
  const base = { ...v, trainingRunId: ids.trainingRunId, adapterId: ids.adapterId };
  switch (m.kind) {
    case 'status':
      return { ...base, status: m.status };
    case 'prepared':
      return { ...base, totalSteps: m.totalSteps, examples: m.examples, truncated: m.truncated };
    case 'checkpoint':
      // Offered, not saved yet: the view changes when the save reports (withCheckpointReport).
      return base;
    case 'after':
      // An evolving actor merging after the steps: the SELF/SRT bar shows it; the curve is complete.
      return base;
    case 'step': {
      const eta = estimateProgress(m.step - firstStep, m.totalSteps - firstStep, m.elapsedMs);
      return {
        ...base,
        status: 'running',
        step: m.step,
        totalSteps: m.totalSteps,
        loss: m.loss,
        lr: m.lr,
        tokensPerSec: m.tokensPerSec,
        memoryBytes: m.memoryBytes,
        elapsedMs: m.elapsedMs,
        etaMs: eta.etaMs,
        points: [...v.points, { x: m.step, y: m.loss }],
      };
    }
  }
}

/** The view after a checkpoint save reported. */
export function withCheckpointReport(v: TrainLive, r: CheckpointReport): TrainLive {
  if (r.kind === 'saved') return { ...v, lastCheckpoint: r.step, checkpointFailure: null };
  return { ...v, lastCheckpoint: r.lastGood, failedSaves: v.failedSaves + 1, checkpointFailure: { step: r.step, message: r.error.message, quota: r.error.code === 'quota-exceeded' } };
}
