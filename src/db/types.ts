/**
 * The rows stored in IndexedDB, one small type per domain noun. Every id is a string made by `newId()`
 * (ids.ts). Timestamps are Unix milliseconds. Configs are plain JSON (json.ts) so they can be exported.
 *
 * References between rows (all within one experiment):
 *   task.experimentId, run.experimentId, … → experiment.id        (required)
 *   step.runId → run.id, step.taskId → task.id                    (required)
 *   step.adapterId → adapter.id                                   (optional)
 *   sample.provenance.stepIds → step.id, .runId → run.id          (optional: unknown ones are dropped on copy)
 *   trainingRun.adapterId → adapter.id (the adapter it produced)  (optional)
 *   adapter.trainingRunId → trainingRun.id (the run that made it) (optional)
 * Ids written inside free-form JSON (configs, progress) are NOT remapped on import or duplicate: put every
 * reference to another row in one of the typed fields above (or add a new typed field and remap it in
 * snapshot.ts).
 */
import type { EngineKind } from '../core/engine/types.ts';
import type { LoraConfig } from '../core/lora/types.ts';
import type { StepRecord } from '../core/refine/types.ts';
import type { ChatMessage } from '../core/text/types.ts';
import type { JsonObject, JsonValue } from './json.ts';

export type { JsonObject, JsonValue };


/** An experiment: one model, its settings, and everything produced with it. */
export interface Experiment {
  id: string;
  name: string;
  /** Model catalog id or hub repo; '' while none is chosen yet. */
  modelId: string;
  engine: EngineKind;
  /** Sampling, prompt templates, stop rules, LoRA config, … (owned by the features that read them). */
  settings: JsonObject;
  createdAt: number;
  updatedAt: number;
}

export const TASK_SPLITS = ['train', 'eval'] as const;
export type TaskSplit = (typeof TASK_SPLITS)[number];
/** Open-ended: built-in task sets add their own kinds. */
export type TaskKind = 'math' | 'instruction' | 'open' | 'toy-arith' | (string & {});

/** One prompt to work on, with an optional reference answer or a checker spec (JSON data, never code). */
export interface Task {
  id: string;
  experimentId: string;
  /** The task set it came from ('custom' for prompts typed by the user). */
  taskSetId: string;
  kind: TaskKind;
  prompt: string;
  reference: string | null;
  checker: JsonObject | null;
  split: TaskSplit;
  createdAt: number;
}

export const RUN_KINDS = ['refine', 'batch', 'self', 'srt', 'eval'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['running', 'done', 'empty', 'interrupted', 'failed', 'aborted'] as const;
/**
 * 'running' rows are owned by a tab that holds the Web Lock `run:<id>` (locks.ts); a 'running' row whose
 * lock nobody holds is turned into 'interrupted' at start-up. 'empty' = it finished, but with nothing to show
 * for it (no loop kept, nothing trained, every answer cut off by the token limit); `error` says why and what
 * to change.
 */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One point of a run's per-round metric series, e.g. { round: 0, accuracy: 0.4, meanScore: 6.2 }. */
export interface RunMetricPoint {
  round: number;
  [metric: string]: number;
}

/** A refine / batch / SELF / SRT / evaluation run. Its steps are rows of `steps`. */
export interface Run {
  id: string;
  experimentId: string;
  kind: RunKind;
  status: RunStatus;
  config: JsonObject;
  /** Free-form progress the run reports (e.g. { done: 12, total: 40 }). */
  progress: JsonObject | null;
  metrics: RunMetricPoint[];
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** Set when status is 'failed', 'interrupted' or 'empty': what happened, for a person. */
  error: string | null;
}

/** A stored Self-Refine step (draft, feedback, refinement, oracle, evaluation): the core record plus ids. */
export interface Step extends StepRecord {
  id: string;
  experimentId: string;
  runId: string;
}

export type SampleFormat = 'sft' | 'dpo' | (string & {});

export interface SampleProvenance {
  /** The steps this sample was built from (draft, feedback, refinement …). */
  stepIds: string[];
  runId: string | null;
  /** SELF evolution round it was collected in. */
  round: number;
}

/** A training sample: prompt → chosen (and, for preference pairs, rejected). */
export interface Sample {
  id: string;
  experimentId: string;
  prompt: ChatMessage[];
  chosen: string;
  rejected: string | null;
  /** The critique that led from rejected to chosen, when there was one. */
  feedback: string | null;
  provenance: SampleProvenance;
  /** Whether training uses it; the filter rule sets it, the user may override it. */
  included: boolean;
  format: SampleFormat;
  createdAt: number;
}

/** A LoRA training run. Its loss curve lives in `trainingMetrics` (one row per logged step, schema v2). */
export interface TrainingRun {
  id: string;
  experimentId: string;
  config: JsonObject;
  status: RunStatus;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** The adapter this run produced, once saved. */
  adapterId: string | null;
  error: string | null;
}

/** One logged training step. Extra numeric series (gradNorm, evalLoss, rewardMargin …) may be added. */
export interface TrainingMetricPoint {
  step: number;
  loss: number;
  lr: number;
  tokensPerSec: number;
  [metric: string]: number;
}

/** Row of `trainingMetrics`; primary key [trainingRunId+step]. */
export interface TrainingMetricRow {
  trainingRunId: string;
  step: number;
  point: TrainingMetricPoint;
}

/** A trained LoRA adapter: PEFT safetensors bytes (and optionally the GGUF export) as Blobs. */
export interface Adapter {
  id: string;
  experimentId: string;
  name: string;
  baseModelId: string;
  config: LoraConfig;
  /** adapter_model.safetensors bytes. */
  weights: Blob;
  /** GGUF LoRA export, when one was made. */
  gguf: Blob | null;
  trainingRunId: string | null;
  createdAt: number;
}

/** App-wide key/value settings. */
export interface Setting {
  key: string;
  value: JsonValue;
}

/** Row counts of one experiment, as shown on its page and written in a bundle's manifest. */
export interface ExperimentCounts {
  tasks: number;
  runs: number;
  steps: number;
  samples: number;
  trainingRuns: number;
  adapters: number;
}
