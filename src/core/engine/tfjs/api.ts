/**
 * The tfjs worker's API (see ../protocol.ts): one worker holds one loaded model (weights once), any number
 * of LoRA adapters on it, generation (single and batched) and LoRA training. The page talks to it through
 * `TfjsWorkerEngine` (a ChatEngine) and `TfjsTrainer` (a refine/Trainer). The same host runs in-process in
 * Node (CLI, bench, tests).
 *
 * Adapters are identified by ids the caller chooses (the app uses its IndexedDB adapter ids), so an adapter
 * stored in the database can be re-added to a fresh worker after a reload with `addAdapter`.
 */
import type { ChatMessage, ChatResult, GenerationParams, LoadProgress } from '../types.ts';
import type { LoraConfig } from '../../lora/types.ts';
import type { RetentionReport } from '../../mlc/retention.ts';
import type { ModelConfig } from '../../model/types.ts';
import type { AfterSteps } from '../../train/trainer.ts';
import type { DpoStepStats } from '../../train/dpo.ts';
import type { PreferenceRow, SftRow } from '../../train/trl.ts';
import type { GgufExportInfo, MergeDtype, MergeFormat } from './merge-run.ts';
import type { FormatError, WeightFormat } from '../../kernels/load-format.ts';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface BackendInfo {
  backend: BackendName;
  /** Why this backend was chosen, in words for the user ("no hardware WebGPU adapter: using wasm"). */
  reason: string;
  /** wasm threads in use, when known. */
  threads: number | null;
  /** Why that many wasm threads, in words ("2 threads: every core (2 cores)"); null for other backends. */
  threadReason: string | null;
  /** wasm: whether our WebAssembly kernels run generation ("loaded (2 threads)", or why not); null for other backends. */
  kernels: string | null;
}

/** Where the model's files come from (all in the Hugging Face folder layout). */
export type ModelSourceSpec =
  | { kind: 'hub'; repo: string; baseUrl?: string; revision?: string }
  /** A folder URL, e.g. the embedded model at `${origin}/models/toy-arith/`. Absolute. */
  | { kind: 'url'; url: string }
  /** A folder the user picked or dropped (File objects with webkitRelativePath). */
  | { kind: 'files'; files: File[] }
  /** A folder on disk: Node only (CLI, tests, the in-process engine); a browser host refuses it. */
  | { kind: 'dir'; path: string }
  /**
   * A model web-llm has in the browser's cache, read in its MLC format (src/core/mlc) from web-llm's cache
   * scopes, never fetched: `model` is its record's `model` URL (a catalog build or an evolved model).
   */
  | { kind: 'webllm-cache'; model: string };

export interface LoadedModelInfo {
  modelId: string;
  config: ModelConfig;
  loadMs: number;
  backend: BackendInfo;
  /** Parameters of the base model. */
  parameters: number;
  /** How the matrices are held: f32 (tfjs tensors), or f32-packed / int8 (owned by the kernels, decoding only). */
  weightFormat: WeightFormat;
  /** f32-packed / int8: the format's error against F32, measured on this model at load. */
  formatError: FormatError | null;
}

export interface TfjsChatParams extends GenerationParams {
  messages: ChatMessage[];
  /** An adapter added with addAdapter or made by train; null = the base model. */
  adapterId: string | null;
}

/** A PEFT adapter as files: what IndexedDB stores and what export hands out. */
export interface AdapterFiles {
  /** adapter_config.json text. */
  adapterConfig: string;
  /** adapter_model.safetensors bytes. */
  safetensors: Uint8Array;
  /** adapter.gguf bytes (llama.cpp / Ollama), when asked for. */
  gguf?: Uint8Array;
}

/** Which merged model to make: safetensors (F32 | F16 | BF16, default F32) or gguf (F32 | F16 | Q8_0, default Q8_0). */
export interface MergedModelParams {
  adapterId: string;
  format?: MergeFormat;
  dtype?: MergeDtype;
  /** The merged model's name (GGUF general.name), e.g. the adapter's name. */
  name?: string;
}

/** The base model with an adapter merged in, as a model folder's files (see merge-run.ts). */
export interface MergedModelFiles {
  /**
   * safetensors: `model.safetensors` (Hugging Face names and layouts) plus the base's config.json, tokenizer and
   * generation files; gguf: `model.gguf`, `Modelfile` and `README.md`.
   */
  files: Record<string, Uint8Array>;
  /** Tensors written, and how many projections took the adapter's update. */
  tensors: number;
  mergedModules: number;
  /** For gguf: the tokenizer's llama.cpp pre-tokenizer, whether it is exact, and what the Modelfile holds. */
  gguf?: GgufExportInfo;
}

export interface TfjsTrainConfig {
  lora: LoraConfig;
  /** Learning rate (peak, after warmup). */
  lr: number;
  /** Optimizer steps; when null, `epochs` decides. */
  steps: number | null;
  epochs: number;
  batchSize: number;
  gradAccum: number;
  optimizer: 'adamw' | 'sgd';
  weightDecay: number;
  schedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  /** Global gradient-norm clip; 0 = none. */
  clip: number;
  seqLen: number;
  seed: number;
  /** DPO β (method 'dpo' only). */
  beta: number;
  /**
   * DPO only: weight of RPO's NLL term on the chosen answers (TRL's `rpo_alpha`; 0 or absent = plain DPO). It
   * keeps the chosen answers' likelihood from falling while DPO widens the margin.
   */
  rpoAlpha?: number;
  /** Report a checkpoint every N steps (0 = never). */
  checkpointEvery: number;
  /** Also report one so that no more than this many seconds of training go by without one (0 = no time rule). */
  checkpointSeconds: number;
  /**
   * Batch rows of similar length together and pad to multiples of 16 tokens (train/batches.ts) instead of
   * padding each random batch to the power-of-two bucket of its longest row. For data whose row lengths vary.
   */
  groupByLength?: boolean;
}

export interface TrainStepProgress {
  kind: 'step';
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  memoryBytes: number;
  elapsedMs: number;
  /** Of the whole train call, 0 to 1, when more work follows the steps (an evolving actor merges after them). */
  fraction?: number;
  /** DPO only: the step's margin and log-probabilities under the policy and the reference. */
  dpo?: DpoStepStats;
}

export type TrainProgressMessage =
  | TrainStepProgress
  | { kind: 'status'; status: 'preparing' | 'running' | 'paused' }
  | { kind: 'prepared'; examples: number; truncated: number; dropped: number; totalSteps: number }
  /** A resumable checkpoint: adapter + optimizer state + position, as files. */
  | { kind: 'checkpoint'; step: number; files: Record<string, Uint8Array> }
  /** After the steps, an evolving actor (evolving-actor.ts) merges the adapter into its model (`done` of `total` in `stage`). */
  | TrainAfterProgress;

/** Work an evolving actor does after the steps: merge into MLC files, write them to the cache, measure what survived. */
export interface TrainAfterProgress extends AfterSteps {
  kind: 'after';
  /** Of the whole train call (steps included), 0 to 1. */
  fraction: number;
}

export interface TrainParams {
  /** Id of the adapter this run creates. */
  adapterId: string;
  /** Continue from this adapter (its LoRA config applies), or null for a fresh one. */
  fromAdapterId: string | null;
  data: { method: 'sft'; rows: SftRow[] } | { method: 'dpo'; rows: PreferenceRow[] };
  config: TfjsTrainConfig;
  /** Resume an interrupted run from a checkpoint's files. */
  resume?: Record<string, Uint8Array>;
  /** Also write GGUF in the result. */
  gguf?: boolean;
}

export interface TrainResultInfo {
  adapterId: string;
  status: 'completed' | 'aborted';
  steps: number;
  finalLoss: number | null;
  examples: number;
  truncated: number;
  seconds: number;
  files: AdapterFiles;
}

export interface TfjsApi {
  /** Picks and initialises the backend: webgpu on a hardware adapter, wasm otherwise (or as asked). */
  init: { params: { backend: 'auto' | BackendName; threadCap?: number | null }; result: BackendInfo };
  /** weightFormat 'f32-packed' / 'int8': opt-in formats the kernels own (src/core/kernels/owned-weights.ts; wasm kernels only, no training). */
  load: { params: { modelId: string; source: ModelSourceSpec; weightFormat?: WeightFormat }; result: LoadedModelInfo; progress: LoadProgress };
  unload: { params: null; result: null };
  chat: { params: TfjsChatParams; result: ChatResult; token: string };
  /** Independent requests generated together; progress counts finished rows. */
  chatBatch: { params: { requests: TfjsChatParams[] }; result: ChatResult[]; progress: { done: number; total: number } };
  addAdapter: { params: { adapterId: string; files: AdapterFiles }; result: { config: LoraConfig } };
  removeAdapter: { params: { adapterId: string }; result: null };
  exportAdapter: { params: { adapterId: string; gguf: boolean }; result: AdapterFiles };
  /** The loaded base model with the adapter merged in (W + scaling·B·A), as full model files; progress per tensor. */
  mergedModel: { params: MergedModelParams; result: MergedModelFiles; progress: { done: number; total: number } };
  train: { params: TrainParams; result: TrainResultInfo; progress: TrainProgressMessage };
  /**
   * How much of an adapter a merged model keeps (src/core/mlc/retention.ts): the loaded model with the adapter
   * applied as LoRA against the model at `merged` (loaded for the measurement, then freed), on held-out rows.
   */
  retention: { params: { adapterId: string; merged: ModelSourceSpec }; result: RetentionReport };
  /** Pauses or resumes the running training (abort = cancel the train call). */
  trainControl: { params: { action: 'pause' | 'resume' }; result: { paused: boolean } };
}
