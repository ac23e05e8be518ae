/**
 * The web-llm worker's API (see ../protocol.ts). The worker hosts web-llm's in-worker `MLCEngine` and speaks
 * this protocol instead of web-llm's own `WebWorkerMLCEngineHandler` protocol. Why:
 * - web-llm's handler sends errors across as `err.toString()`; ours sends `{code, message}` and the page gets
 *   a typed AppError back (no-WebGPU, shader-f16, device lost, network), with a message saying what to do;
 * - abort is per request (a `cancel` message → `interruptGenerate()` for that generation only);
 * - load progress and tokens are message kinds of their own, and the tfjs worker uses the same client, so
 *   the page drives both engines one way;
 * - the GPU probe, the pre-download feature check and device-loss bookkeeping run where the GPU device lives.
 * The cost is that we map OpenAI-style requests and chunks ourselves (request.ts), which is a few lines.
 */
import type { GpuInfo } from '../gpu.ts';
import type { EvolvedRecordRef } from './evolved.ts';
import type { ChatMessage, ChatResult, GenerationParams, LoadProgress } from '../types.ts';

/** Where to fetch a model's files instead of web-llm's prebuilt URLs (a mirror; tests). Absolute URLs. */
export interface WebLlmSource {
  /** The folder holding mlc-chat-config.json, tensor-cache.json and the weight shards. */
  model: string;
  /** The compiled model library (.wasm). */
  modelLib: string;
}

export interface WebLlmChatParams extends GenerationParams {
  messages: ChatMessage[];
  /** Qwen3's thinking mode; undefined leaves the model's default. */
  enableThinking?: boolean;
}

export interface WebLlmLoadParams {
  webllmId: string;
  /** For an evolved model: where its base's files come from (the library URL is in `evolved`). */
  source: WebLlmSource | null;
  /**
   * An evolved model (evolved.ts): web-llm gets the base's record with this id, this folder (`model`, in
   * the cache) and the base's library; `webllmId` is the evolved model's own id.
   */
  evolved?: EvolvedRecordRef | null;
}

/** The URLs of a model's web-llm record: where its files and its compiled library are cached. */
export interface WebLlmRecordUrls {
  webllmId: string;
  model: string;
  modelLib: string;
}

export interface WebLlmLoadResult {
  webllmId: string;
  loadMs: number;
  gpu: GpuInfo;
}

export interface CachedModel {
  webllmId: string;
  /** Every weight shard is in the cache: loading needs no download. */
  cached: boolean;
  /** Cache entries of this model (0 = nothing; some but not `cached` = a partial download). */
  entries: number;
}

export interface WebLlmApi {
  /** Describes the worker's WebGPU adapter. Never fails: an unusable GPU is reported as data. */
  probe: { params: null; result: GpuInfo };
  load: { params: WebLlmLoadParams; result: WebLlmLoadResult; progress: LoadProgress };
  chat: { params: WebLlmChatParams; result: ChatResult; token: string };
  unload: { params: null; result: null };
  /** Which of these models have their weights in the browser cache. */
  cacheStatus: { params: { models: WebLlmLoadParams[] }; result: CachedModel[] };
  /** The record URLs web-llm uses for a model (the base of a merge reads its files from the cache there). */
  record: { params: WebLlmLoadParams; result: WebLlmRecordUrls };
  /** Deletes a model's weights, tokenizer, config and library from the browser cache; returns entries removed. */
  cacheDelete: { params: WebLlmLoadParams; result: { removed: number } };
}
