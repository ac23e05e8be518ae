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
