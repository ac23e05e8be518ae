import type { DpoStepStats } from './dpo.ts';
import type { PreferenceRow, SftRow } from './trl.ts';

/**
 * The training step as the SELF and SRT orchestrators see it. The real implementation (LoRA training of the
 * tfjs model in a worker) lives with the trainer; tests inject a fake that records its calls.
 */
export type TrainMethod = 'sft' | 'dpo';

export interface TrainProgress {
  step: number;
  totalSteps: number;
  /** Latest training loss, when known. */
  loss: number | null;
  /** Of the whole training, 0 to 1, when it is more than step / totalSteps (an evolving actor merges after the steps). */
  fraction?: number;
  /** Work after the steps, while it runs: `done` of `total` in `stage`. */
  after?: AfterSteps;
  /** DPO: the step's margin and log-probabilities under the policy and the reference (train/dpo.ts). */
  dpo?: DpoStepStats;
}

/** What an evolving actor does after training: merge the adapter into its model's MLC files, write them, measure the merge. */
export interface AfterSteps {
  stage: 'merge' | 'write' | 'retention';
  done: number;
  total: number;
  /** The evolved model's id, once it has one. */
  modelId?: string;
}

/** A line for people about work after the steps. */
export function afterStepsText(a: AfterSteps): string {
  if (a.stage === 'merge') return `merging the adapter into the web-llm model, ${a.done} of ${a.total} tensors`;
  if (a.stage === 'write') return `saving ${a.modelId ?? 'the evolved model'} in the browser's cache, ${(a.done / 2 ** 20).toFixed(1)} of ${(a.total / 2 ** 20).toFixed(1)} MB`;
  return `measuring how much of the adapter ${a.modelId ?? 'the evolved model'} kept`;
}

interface TrainRequestBase<C> {
  /** The adapter to continue from, or null to start a new one on the base model. */
  fromAdapterId: string | null;
  /** Trainer settings (learning rate, steps, LoRA rank…), passed through untouched. */
  config: C;
  /** A name for the adapter this training makes (e.g. "SELF round 2"). */
  label: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export type TrainRequest<C = unknown> = TrainRequestBase<C> &
  ({ method: 'sft'; rows: SftRow[] } | { method: 'dpo'; rows: PreferenceRow[] });

export interface TrainOutcome {
  /** The stored adapter, usable as ChatRequest.adapterId. */
  adapterId: string;
  /** Final loss and whatever else the trainer reports (steps, seconds, tokens…). */
  metrics: Record<string, number>;
}

export interface Trainer<C = unknown> {
  train(request: TrainRequest<C>): Promise<TrainOutcome>;
}
