/**
 * The training run on screen, as one immutable view built from the trainer's progress messages: step and
 * total, loss curve so far, learning rate, tokens/s, memory, ETA, paused, checkpoints. Pure (tested in Node).
 */
import type { TrainProgressMessage } from '../../core/engine/tfjs/api.ts';
import { estimateProgress } from '../../core/refine/progress.ts';

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
  lastCheckpoint: number | null;
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
      return { ...base, lastCheckpoint: m.step };
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
