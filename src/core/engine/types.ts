import type { LoadProgress } from '../io/model-source.ts';
import type { FinishReason, GenerationParams, Usage } from '../text/generation.ts';
import type { ChatMessage } from '../text/types.ts';

export type { ChatMessage, FinishReason, GenerationParams, LoadProgress, Usage };

export interface ChatRequest extends GenerationParams {
  messages: ChatMessage[];
  /** Id of an adapter the engine holds, or null/undefined for the base model (engines with the `adapters` capability). */
  adapterId?: string | null;
  signal?: AbortSignal;
  /** Called with each new piece of text as it is generated. */
  onToken?: (delta: string) => void;
}

export interface ChatResult {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
}

/** The engines the app builds (engine/factory.ts, and the toy reference critic: src/core/toy/reference-critic.ts); stored runs, steps and experiments name them. */
export const ENGINE_KINDS = ['webllm', 'tfjs', 'openai', 'reference'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/**
 * What an engine can do besides chat, declared by the engine itself. Each true flag promises the matching
 * sub-interface of ./capabilities.ts, and the type guards there narrow to it by reading these flags:
 *   adapters   AdapterEngine: holds LoRA adapters and applies the one a request names (ChatRequest.adapterId)
 *   trainLora  LoraTrainingEngine: also trains LoRA adapters on the weights it has loaded
 *   evolve     EvolvableEngine: can switch to a model whose weights have an adapter merged in (an evolved model)
 */
export interface EngineCapabilities {
  readonly adapters: boolean;
  readonly trainLora: boolean;
  readonly evolve: boolean;
}

/** One interface for every generator: in-process, behind a worker, or remote. The UI cannot tell them apart. */
export interface ChatEngine {
  readonly kind: EngineKind;
  readonly capabilities: EngineCapabilities;
  /** The loaded model, or null before load(). */
  readonly modelId: string | null;
  load(modelId: string, options?: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal }): Promise<void>;
  chat(request: ChatRequest): Promise<ChatResult>;
  /** Optional: several independent requests in one batched pass (the tfjs engine). */
  chatBatch?(requests: ChatRequest[]): Promise<ChatResult[]>;
  unload(): Promise<void>;
}
