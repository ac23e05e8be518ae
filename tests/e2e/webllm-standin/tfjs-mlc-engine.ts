/**
 * STANDS IN FOR WEB-LLM'S WEBGPU COMPUTE, for tests only: an MLCEngine look-alike (the MlcEngineLike that
 * src/core/engine/webllm/host.ts drives) that reads the model web-llm was told about — the record of the
 * app config it is given, at that record's `model` URL — from web-llm's cache scopes and generates with our
 * tfjs runtime on those MLC files. No web-llm model library can be compiled or downloaded here, so nothing
 * else could run the weights. Every reload is logged (`standInLog` on the worker's global) with the record.
 */
import type { AppConfig, ChatCompletionChunk, ChatCompletionRequestStreaming, InitProgressReport, ModelRecord } from '@mlc-ai/web-llm';
import { TfjsLocalEngine } from '../../../src/core/engine/tfjs/local.ts';
import type { TfjsHostDeps } from '../../../src/core/engine/tfjs/host.ts';
import type { MlcEngineLike } from '../../../src/core/engine/webllm/host.ts';
import type { ChatRequest } from '../../../src/core/engine/types.ts';

export interface StandInReload {
  modelId: string;
  /** The record's `model` and `model_lib`, as web-llm would have read them. */
  model: string;
  modelLib: string;
}

export class TfjsMlcEngine implements MlcEngineLike {
  readonly reloads: StandInReload[] = [];
  readonly #engine: TfjsLocalEngine;
  #records = new Map<string, ModelRecord>();
  #progress: (r: InitProgressReport) => void = () => {};
  #generating: AbortController | null = null;

  constructor(host: TfjsHostDeps) {
    this.#engine = new TfjsLocalEngine({ host, backend: 'wasm', source: (id) => ({ kind: 'webllm-cache', model: this.#record(id).model }) });
  }

  #record(id: string): ModelRecord {
    const r = this.#records.get(id);
    if (!r) throw new Error(`Model not found in the app config: ${id}`);
    return r;
  }

  setAppConfig(appConfig: AppConfig): void {
    this.#records = new Map(appConfig.model_list.map((r) => [r.model_id, r]));
  }

  setInitProgressCallback(callback: (report: InitProgressReport) => void): void {
    this.#progress = callback;
  }

  async reload(modelId: string): Promise<void> {
    const r = this.#record(modelId);
    const started = performance.now();
    await this.#engine.load(modelId, { onProgress: (p) => this.#progress({ progress: p.fraction ?? 0, timeElapsed: (performance.now() - started) / 1000, text: `${p.text} (stand-in for web-llm)` }) });
    this.reloads.push({ modelId, model: r.model, modelLib: r.model_lib });
  }

  async chatCompletion(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>> {
    const id = this.#engine.modelId ?? '';
    const controller = new AbortController();
    this.#generating = controller;
    const req: ChatRequest = {
      messages: request.messages.map((m) => ({ role: m.role as 'system' | 'user' | 'assistant', content: typeof m.content === 'string' ? m.content : '' })),
      signal: controller.signal,
    };
    if (request.max_tokens != null) req.maxTokens = request.max_tokens;
    if (request.temperature != null) req.temperature = request.temperature;
    if (request.top_p != null) req.topP = request.top_p;
    if (request.seed != null) req.seed = request.seed;
    if (request.stop != null) req.stop = Array.isArray(request.stop) ? request.stop : [request.stop];
    const out = await this.#engine.chat(req).finally(() => (this.#generating = null));
    const chunk = (choices: ChatCompletionChunk['choices'], usage?: ChatCompletionChunk['usage']): ChatCompletionChunk => ({ id: 'stand-in', object: 'chat.completion.chunk', created: 0, model: id, choices, ...(usage ? { usage } : {}) });
    const u = out.usage;
    const seconds = u.totalMs / 1000;
    return (async function* () {
      yield chunk([{ index: 0, delta: { role: 'assistant', content: out.text }, finish_reason: null, logprobs: null }]);
      yield chunk([{ index: 0, delta: {}, finish_reason: out.finishReason === 'length' ? 'length' : out.finishReason === 'abort' ? 'abort' : 'stop', logprobs: null }]);
      yield chunk([], {
        prompt_tokens: u.promptTokens,
        completion_tokens: u.completionTokens,
        total_tokens: u.promptTokens + u.completionTokens,
        extra: { e2e_latency_s: seconds, prefill_tokens_per_s: u.prefillTokensPerSec, decode_tokens_per_s: u.decodeTokensPerSec, time_to_first_token_s: 0, time_per_output_token_s: 0 },
      });
    })();
  }

  interruptGenerate(): void {
    this.#generating?.abort();
  }

  unload(): Promise<void> {
    return this.#engine.unload();
  }
}
