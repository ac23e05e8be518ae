/**
 * A ChatEngine backed by an OpenAI-compatible HTTP endpoint (OpenAI, vLLM, llama.cpp's server, Ollama's /v1,
 * LM Studio, …), used as a critic. It POSTs `{base}/chat/completions` with `stream: true` and reads the
 * server-sent events as they arrive.
 *
 * The API key is a constructor argument and lives only in this object. Keeping it between visits — in this
 * browser only, never in exports or bundles — is the settings UI's job.
 */
import { AppError, isAbort, throwIfAborted } from '../../errors.ts';
import { abortedResult } from '../abort-result.ts';
import { CHAT_ONLY } from '../capabilities.ts';
import type { ChatEngine, ChatRequest, ChatResult, FinishReason, LoadProgress, Usage } from '../types.ts';
import { field, httpError, unreachableError } from './errors.ts';
import { readSse } from './sse.ts';

export interface OpenAIEngineOptions {
  /** e.g. 'https://api.openai.com/v1' or 'http://localhost:8000/v1'. */
  baseUrl: string;
  /** The model name the endpoint knows, e.g. 'gpt-4o-mini'. load() may name another. */
  model: string;
  /** Sent as `Authorization: Bearer …`; empty for local servers without keys. */
  apiKey: string;
  /** For tests or proxies; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** Trims and checks a base URL; drops a trailing slash or a pasted `/chat/completions`. */
export function normalizeBaseUrl(raw: string): string {
  const trimmed = raw.trim().replace(/\/+$/, '').replace(/\/chat\/completions$/, '');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new AppError('bad-input', `"${raw}" is not a URL. Enter the endpoint's base URL, e.g. http://localhost:8000/v1.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('bad-input', `The base URL must start with http:// or https:// (got ${url.protocol}).`);
  }
  return trimmed;
}

function asFinish(r: unknown): FinishReason | null {
  if (r === 'length') return 'length';
  if (typeof r === 'string' && r) return 'stop'; // 'stop', 'eos', 'tool_calls', 'content_filter', …
  return null;
}

function num(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Milliseconds from an arbitrary origin (performance.now where available). */
function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

export class OpenAICompatibleEngine implements ChatEngine {
  readonly kind = 'openai' as const;
  readonly capabilities = CHAT_ONLY;
  readonly baseUrl: string;
  #apiKey: string;
  #defaultModel: string;
  #model: string | null = null;
  #fetch: typeof fetch;
  /** Cleared when the server rejects `stream_options` (older servers); usage is then estimated. */
  #includeUsage = true;

  constructor(options: OpenAIEngineOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.#apiKey = options.apiKey.trim();
    this.#defaultModel = options.model.trim();
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get modelId(): string | null {
    return this.#model;
  }

  #headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { Accept: json ? 'application/json' : 'text/event-stream' };
    if (json) h['Content-Type'] = 'application/json';
    if (this.#apiKey) h.Authorization = `Bearer ${this.#apiKey}`;
    return h;
  }

  /**
   * Checks the endpoint and the model: GET `{base}/models`. An unreachable server or a rejected key fails
   * here; a model missing from a non-empty list fails with the list. Servers without /models pass.
   */
  async load(modelId: string, options: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal } = {}): Promise<void> {
    const { onProgress, signal } = options;
    throwIfAborted(signal);
    const model = (modelId || this.#defaultModel).trim();
    if (!model) throw new AppError('bad-input', 'Enter the model name the endpoint serves (e.g. gpt-4o-mini).');
    this.#model = null;
    const url = `${this.baseUrl}/models`;
    onProgress?.({ phase: 'connect', fraction: 0, text: `Checking ${this.baseUrl} …` });
    let res: Response;
    try {
      res = await this.#fetch(url, { headers: this.#headers(false), signal });
    } catch (e) {
      if (isAbort(e) || signal?.aborted) throw new AppError('aborted', 'Stopped.');
      throw unreachableError(this.baseUrl, e);
    }
    if (res.status === 401 || res.status === 403) throw httpError(res.status, await res.text().catch(() => ''), url, model);
    if (res.ok) {
      let ids: string[] = [];
      try {
        const data = field(await res.json(), 'data');
        if (Array.isArray(data)) ids = data.map((m) => field(m, 'id')).filter((id): id is string => typeof id === 'string');
      } catch {
        // a /models that is not JSON: nothing to check against
      }
      if (ids.length > 0 && !ids.includes(model)) {
        const shown = ids.slice(0, 20).join(', ') + (ids.length > 20 ? ', …' : '');
        throw new AppError('not-found', `The endpoint has no model "${model}". It offers: ${shown}.`);
      }
    } else {
      await res.body?.cancel().catch(() => undefined);
    }
    this.#model = model;
    onProgress?.({ phase: 'ready', fraction: 1, text: `Using ${model} at ${this.baseUrl}.` });
  }

  /** Nothing runs locally; forgets the model so chat() needs load() again. */
  async unload(): Promise<void> {
    this.#model = null;
  }

  #body(request: ChatRequest, model: string): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      stream: true,
    };
    if (this.#includeUsage) body.stream_options = { include_usage: true };
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
    if (request.seed !== undefined) body.seed = request.seed;
    if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop;
    // Not in OpenAI's API, but understood by vLLM and llama.cpp; sent only when asked for.
    if (request.topK !== undefined) body.top_k = request.topK;
    if (request.repetitionPenalty !== undefined) body.repetition_penalty = request.repetitionPenalty;
    return body;
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    throwIfAborted(request.signal);
    if (request.adapterId) {
      throw new AppError('unsupported', 'A remote endpoint cannot apply a local LoRA adapter. Use the tfjs engine for that.');
    }
    const model = this.#model;
    if (!model) throw new AppError('engine', 'No model is set for the endpoint. Load it first.');
    const { signal } = request;
    const url = `${this.baseUrl}/chat/completions`;
    const started = now();
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: 'POST',
        headers: this.#headers(true),
        body: JSON.stringify(this.#body(request, model)),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) return abortedResult('', 0, now() - started);
      throw unreachableError(this.baseUrl, e);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      if (res.status === 400 && this.#includeUsage && /stream_options|include_usage/i.test(text)) {
        this.#includeUsage = false; // an older server: ask again without it, and estimate usage
        return this.chat(request);
      }
      throw httpError(res.status, text, url, model);
    }
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('application/json')) return this.#fromJson(res, started, signal);
    if (!res.body) throw new AppError('engine', `The endpoint at ${url} answered with an empty body.`);
    return this.#fromStream(res.body, request, started);
  }

  /** A server that ignored `stream: true` and sent one JSON completion. */
  async #fromJson(res: Response, started: number, signal: AbortSignal | undefined): Promise<ChatResult> {
    let j: unknown;
    try {
      j = await res.json();
    } catch (e) {
      if (signal?.aborted) return abortedResult('', 0, now() - started);
      throw new AppError('engine', `The endpoint sent a response that is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const choice = field(field(j, 'choices'), '0');
    const content = field(field(choice, 'message'), 'content');
    if (typeof content !== 'string') throw new AppError('engine', 'The endpoint answered without a message: is it OpenAI-compatible?');
    return { text: content, finishReason: asFinish(field(choice, 'finish_reason')) ?? 'stop', usage: this.#usage(field(j, 'usage'), started, null, null, 0) };
  }

  async #fromStream(body: ReadableStream<Uint8Array>, request: ChatRequest, started: number): Promise<ChatResult> {
    const { signal } = request;
    let text = '';
    let pieces = 0;
    let finish: FinishReason | null = null;
    let usage: unknown = null;
    let done = false;
    let firstAt: number | null = null;
    let lastAt: number | null = null;
    try {
      for await (const ev of readSse(body)) {
        if (ev.data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: unknown;
        try {
          chunk = JSON.parse(ev.data);
        } catch {
          throw new AppError(
            'engine',
            `The endpoint sent a malformed stream chunk (not JSON): "${ev.data.slice(0, 120)}". Is the base URL an OpenAI-compatible endpoint?`,
          );
        }
        const error = field(chunk, 'error');
        if (ev.event === 'error' || error !== undefined) {
          const detail = field(error, 'message') ?? error ?? ev.data;
          throw new AppError('engine', `The endpoint reported an error while answering: ${String(typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, 300)}`);
        }
        const choice = field(field(chunk, 'choices'), '0');
        const delta = field(field(choice, 'delta'), 'content');
        if (typeof delta === 'string' && delta.length > 0) {
          const t = now();
          firstAt ??= t;
          lastAt = t;
          text += delta;
          pieces++;
          request.onToken?.(delta);
        }
        finish = asFinish(field(choice, 'finish_reason')) ?? finish;
        const u = field(chunk, 'usage');
        if (u !== undefined && u !== null) usage = u;
      }
    } catch (e) {
      if (signal?.aborted || isAbort(e)) return abortedResult(text, pieces, now() - started);
      if (e instanceof AppError) throw e;
      throw new AppError('network', `The connection to ${this.baseUrl} broke while the answer streamed: ${e instanceof Error ? e.message : String(e)}. Try again.`);
    }
    if (signal?.aborted) return abortedResult(text, pieces, now() - started);
    if (!done && finish === null) {
      throw new AppError('network', `The connection to ${this.baseUrl} closed before the answer finished. Try again.`);
    }
    return { text, finishReason: finish ?? 'stop', usage: this.#usage(usage, started, firstAt, lastAt, pieces) };
  }

  /**
   * Token counts from the server's `usage` when it sent one, else estimated as one token per streamed piece
   * (flagged `approximate`). Speeds are measured here, so they include network time: prefill = prompt tokens
   * / time to the first piece, decode = later tokens / time from the first piece to the last.
   */
  #usage(u: unknown, started: number, firstAt: number | null, lastAt: number | null, pieces: number): Usage {
    const prompt = num(field(u, 'prompt_tokens'));
    const completion = num(field(u, 'completion_tokens'));
    const promptTokens = prompt ?? 0;
    const completionTokens = completion ?? pieces;
    const prefillMs = firstAt !== null ? firstAt - started : 0;
    const decodeMs = firstAt !== null && lastAt !== null ? lastAt - firstAt : 0;
    const usage: Usage = {
      promptTokens,
      completionTokens,
      prefillTokensPerSec: prefillMs > 0 && promptTokens > 0 ? (promptTokens * 1000) / prefillMs : 0,
      decodeTokensPerSec: decodeMs > 0 && completionTokens > 1 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
      totalMs: now() - started,
    };
    if (prompt === null || completion === null) usage.approximate = true;
    return usage;
  }
}
