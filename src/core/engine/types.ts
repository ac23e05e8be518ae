import type { ChatMessage } from '../text/types.ts';

export type { ChatMessage };

/** Sampling and stopping settings shared by every engine. Unset fields take the engine's defaults. */
export interface GenerationParams {
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  /** Makes sampling reproducible where the engine supports it. */
  seed?: number;
  /** Generation stops before any of these strings; the string itself is not returned. */
  stop?: string[];
}

export interface ChatRequest extends GenerationParams {
  messages: ChatMessage[];
  /** tfjs engine only: id of a loaded adapter to apply, or null/undefined for the base model. */
  adapterId?: string | null;
  signal?: AbortSignal;
  /** Called with each new piece of text as it is generated. */
  onToken?: (delta: string) => void;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens per second during prefill. */
  prefillTokensPerSec: number;
  /** Generated tokens per second during decode. */
  decodeTokensPerSec: number;
  totalMs: number;
  /** True when the engine reported no token counts and they were estimated (e.g. one token per streamed chunk). */
  approximate?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface ChatResult {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
}

export interface LoadProgress {
  /** e.g. 'download', 'cache', 'compile', 'weights' */
  phase: string;
  /** 0..1 when known. */
  fraction: number | null;
  text: string;
  /** Bytes fetched or read so far, when the engine reports them (web-llm reports whole MiB). */
  bytesLoaded?: number | null;
}

export type EngineKind = 'webllm' | 'tfjs' | 'openai' | 'scripted' | 'reference';

/** One interface for every generator: in-process, behind a worker, or remote. The UI cannot tell them apart. */
export interface ChatEngine {
  readonly kind: EngineKind;
  /** The loaded model, or null before load(). */
  readonly modelId: string | null;
  load(modelId: string, options?: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal }): Promise<void>;
  chat(request: ChatRequest): Promise<ChatResult>;
  /** Optional: several independent requests in one batched pass (the tfjs engine). */
  chatBatch?(requests: ChatRequest[]): Promise<ChatResult[]>;
  unload(): Promise<void>;
}
