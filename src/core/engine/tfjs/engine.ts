/**
 * The tfjs engine as a ChatEngine, over any caller of TfjsApi: the worker client (TfjsWorkerEngine, in the
 * page) or the host in the same thread (TfjsLocalEngine, in Node). Besides chat it manages adapters (add from
 * PEFT files, remove, export PEFT + GGUF, merge into the base weights) and reports the backend it runs on
 * and why.
 *
 * Abort: a reply stopped mid-way by its signal resolves with the text so far and finishReason 'abort' (as
 * every ChatEngine does); a signal that has already fired rejects with AppError('aborted'). chatBatch has no
 * per-row stream: when its requests' signals fire it rejects with AppError('aborted').
 */
import { AppError, throwIfAborted } from '../../errors.ts';
import type { LoraConfig } from '../../lora/types.ts';
import { streamedChat } from '../abort-result.ts';
import type { Declaring, LoraTrainingEngine } from '../capabilities.ts';
import type { WeightFormat } from '../../kernels/load-format.ts';
import type { ChatRequest, ChatResult, LoadProgress } from '../types.ts';
import type {
  AdapterFiles,
  BackendInfo,
  BackendName,
  LoadedModelInfo,
  MergedModelFiles,
  MergedModelParams,
  ModelSourceSpec,
  TfjsApi,
  TfjsChatParams,
  TrainParams,
  TrainProgressMessage,
  TrainResultInfo,
} from './api.ts';
import type { RetentionReport } from '../../mlc/retention.ts';
import type { ApiCaller } from './local-caller.ts';

export type TfjsCaller = ApiCaller<TfjsApi>;

export interface TfjsEngineOptions {
  /** 'auto' (default): webgpu on a hardware adapter, wasm otherwise. */
  backend?: 'auto' | BackendName;
  /** 'f32-packed' / 'int8': opt-in formats for decoding on the wasm kernels (faster; int8 also smaller; no training). Default f32. */
  weightFormat?: () => Promise<WeightFormat> | WeightFormat;
  /** Most wasm threads (a setting), read when the backend starts; null/absent = every core. */
  threadCap?: () => Promise<number | null> | number | null;
  /** Where `load(modelId)` reads the model: one source, or a function of the id. */
  source: ModelSourceSpec | ((modelId: string) => ModelSourceSpec);
}

interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

function toParams(r: ChatRequest): TfjsChatParams {
  return {
    messages: r.messages.map(({ role, content }) => ({ role, content })),
    adapterId: r.adapterId ?? null,
    maxTokens: r.maxTokens,
    temperature: r.temperature,
    topP: r.topP,
    topK: r.topK,
    repetitionPenalty: r.repetitionPenalty,
    seed: r.seed,
    stop: r.stop,
  };
}

/** One signal that fires when every given signal has fired (requests of one batch usually share one). */
function allAborted(signals: AbortSignal[]): AbortSignal | undefined {
  const distinct = [...new Set(signals)];
  if (distinct.length === 0) return undefined;
  if (distinct.length === 1) return distinct[0];
  const c = new AbortController();
  const check = (): void => {
    if (distinct.every((s) => s.aborted)) c.abort(new AppError('aborted', 'Stopped.'));
  };
  for (const s of distinct) s.addEventListener('abort', check, { once: true });
  check();
  return c.signal;
}

/** Applies and trains adapters (LoRA in the same host as the weights); cannot be evolved (it applies adapters instead). */
const TFJS_CAPABILITIES: Declaring<'adapters' | 'trainLora'> = { adapters: true, trainLora: true, evolve: false };

export abstract class TfjsEngineBase implements LoraTrainingEngine {
  readonly kind = 'tfjs' as const;
  readonly capabilities = TFJS_CAPABILITIES;
  #options: TfjsEngineOptions;
  #loaded: LoadedModelInfo | null = null;
  #backend: BackendInfo | null = null;

  constructor(options: TfjsEngineOptions) {
    this.#options = options;
  }

  /** The caller of the host (connects on first use). */
  protected abstract caller(): TfjsCaller;

  /** Called when the host is gone (a crashed worker): what it held is lost. */
  protected forget(): void {
    this.#loaded = null;
    this.#backend = null;
  }

  get modelId(): string | null {
    return this.#loaded?.modelId ?? null;
  }

  /** The backend in use and why; null before load(). */
  get backend(): BackendInfo | null {
    return this.#backend;
  }

  /** The loaded model's config, size and load time; null before load(). */
  get model(): LoadedModelInfo | null {
    return this.#loaded;
  }

  /** Starts the backend without loading a model (load() does this by itself). */
  async init(signal?: AbortSignal): Promise<BackendInfo> {
    const threadCap = (await this.#options.threadCap?.()) ?? null;
    this.#backend = await this.caller().call('init', { backend: this.#options.backend ?? 'auto', threadCap }, { signal });
    return this.#backend;
  }

  async load(modelId: string, { onProgress, signal }: LoadOptions = {}): Promise<void> {
    throwIfAborted(signal);
    const source = typeof this.#options.source === 'function' ? this.#options.source(modelId) : this.#options.source;
    this.#loaded = null;
    const backend = await this.init(signal);
    onProgress?.({ phase: 'backend', fraction: null, text: backend.reason });
    const weightFormat = (await this.#options.weightFormat?.()) ?? 'f32';
    this.#loaded = await this.caller().call('load', { modelId, source, weightFormat }, { signal, onProgress });
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    throwIfAborted(request.signal);
    return streamedChat(request, (onToken) => this.caller().call('chat', toParams(request), { signal: request.signal, onToken }));
  }

  /** Independent requests generated together (rows grouped by adapter in the host). */
  async chatBatch(requests: ChatRequest[], options: { onProgress?: (p: { done: number; total: number }) => void } = {}): Promise<ChatResult[]> {
    if (requests.length === 0) return [];
    const signals = requests.map((r) => r.signal).filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === requests.length ? allAborted(signals) : undefined;
    throwIfAborted(signal);
    return this.caller().call('chatBatch', { requests: requests.map(toParams) }, { signal, onProgress: options.onProgress });
  }

  /** Adds (or replaces) an adapter from its PEFT files; throws adapter-mismatch naming the first bad tensor. */
  async addAdapter(adapterId: string, files: AdapterFiles): Promise<LoraConfig> {
    return (await this.caller().call('addAdapter', { adapterId, files })).config;
  }

  async removeAdapter(adapterId: string): Promise<void> {
    await this.caller().call('removeAdapter', { adapterId });
  }

  /** The adapter's PEFT files, plus adapter.gguf (llama.cpp / Ollama) when `gguf`. */
  async exportAdapter(adapterId: string, options: { gguf?: boolean } = {}): Promise<AdapterFiles> {
    return this.caller().call('exportAdapter', { adapterId, gguf: options.gguf === true });
  }

  /**
   * The loaded base model with the adapter merged in (W + scaling·B·A), as a model's files: safetensors
   * (model.safetensors, F32 unless `dtype` says otherwise, plus the base's config and tokenizer files) or gguf
   * (model.gguf, Q8_0 unless `dtype` says otherwise, a Modelfile and a README). Progress counts tensors written.
   */
  async mergedModel(
    adapterId: string,
    options: Omit<MergedModelParams, 'adapterId'> & { signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void } = {},
  ): Promise<MergedModelFiles> {
    const { signal, onProgress, format, dtype, name } = options;
    const params: MergedModelParams = { adapterId };
    if (format !== undefined) params.format = format;
    if (dtype !== undefined) params.dtype = dtype;
    if (name !== undefined) params.name = name;
    return this.caller().call('mergedModel', params, { signal, onProgress });
  }

  /**
   * LoRA training in the host (see TfjsTrainer for the refine-facing side). Progress: status, the data
   * summary, every step, checkpoints. Aborting the signal stops the run between steps (AppError 'aborted').
   */
  async train(params: TrainParams, options: { signal?: AbortSignal; onProgress?: (m: TrainProgressMessage) => void } = {}): Promise<TrainResultInfo> {
    return this.caller().call('train', params, options);
  }

  /** How much of `adapterId` the MLC model at `merged` keeps, measured in logits against the adapter applied as LoRA. */
  async measureRetention(adapterId: string, merged: ModelSourceSpec, signal?: AbortSignal): Promise<RetentionReport> {
    return this.caller().call('retention', { adapterId, merged }, { signal });
  }

  /** Pauses the running training before its next step; resolves with whether a run is now paused. */
  async pauseTraining(): Promise<boolean> {
    return (await this.caller().call('trainControl', { action: 'pause' })).paused;
  }

  async resumeTraining(): Promise<boolean> {
    return (await this.caller().call('trainControl', { action: 'resume' })).paused;
  }

  async unload(): Promise<void> {
    this.#loaded = null;
    await this.caller().call('unload', null);
  }
}
