import { AppError, throwIfAborted } from '../../src/core/errors.ts';
import type { LoraConfig } from '../../src/core/lora/types.ts';
import { CHAT_ONLY, type AdapterEngine, type Declaring } from '../../src/core/engine/capabilities.ts';
import type { AdapterFiles, MergedModelFiles } from '../../src/core/engine/tfjs/api.ts';
import type { ChatEngine, ChatRequest, ChatResult, EngineCapabilities, EngineKind, FinishReason, LoadProgress, Usage } from '../../src/core/engine/types.ts';

/**
 * A test double: a deterministic ChatEngine that replies from a script, for tests of the loop logic (no model).
 * It stands in for an engine of the kind it is given (default 'openai', a chat-only endpoint), so what it
 * writes is stored like that engine's steps.
 * It behaves like a real engine where the loop can tell: it streams its reply piece by piece through
 * `onToken` (yielding between pieces, so an abort can land mid-generation), honours
 * `signal` (a reply cut short returns finishReason 'abort' with the text so far), respects `maxTokens` and
 * `stop`, reports usage (one "token" = one whitespace-delimited piece) and records every request it got.
 */
export interface ScriptedReply {
  text: string;
  /** Forces a finish reason (default 'stop', or 'length' when maxTokens cuts the reply). */
  finishReason?: FinishReason;
}

/** What the script sees for each call. `call` counts from 0 across chat and chatBatch. */
export type ScriptFn = (request: ChatRequest, call: number) => string | ScriptedReply | Error;

export interface ScriptedEngineOptions {
  /** A list of replies used in order (an Error entry makes that call fail), or a function of the request. */
  script: readonly (string | ScriptedReply | Error)[] | ScriptFn;
  /** The engine it stands in for (default 'openai'; ScriptedAdapterEngine: 'tfjs'). */
  kind?: EngineKind;
  /** The model id reported after load(); default 'scripted-model'. Set = already loaded. */
  modelId?: string | null;
  /** Offer chatBatch (several requests in one call), like the tfjs engine. Default false. */
  batch?: boolean;
  /** Milliseconds per streamed piece (default 0: just yield to the event loop). */
  tokenDelayMs?: number;
  /** Clock for usage timings; default performance.now. */
  now?: () => number;
}

function splitPieces(text: string): string[] {
  // Each piece = optional leading whitespace + a run of non-space; joining them restores the text exactly.
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function countPieces(text: string): number {
  return (text.match(/\S+/g) ?? []).length;
}

export class ScriptedEngine implements ChatEngine {
  readonly kind: EngineKind;
  readonly capabilities: EngineCapabilities = CHAT_ONLY;
  modelId: string | null;
  /** Every request received, in order (without signal/onToken, which are not data). */
  readonly calls: ChatRequest[] = [];
  /** Number of chatBatch calls made (each counts its requests in `calls` too). */
  batchCalls = 0;
  readonly chatBatch?: (requests: ChatRequest[]) => Promise<ChatResult[]>;
  private readonly options: ScriptedEngineOptions;
  private readonly now: () => number;

  constructor(options: ScriptedEngineOptions) {
    this.options = options;
    this.kind = options.kind ?? this.defaultKind();
    this.modelId = options.modelId === undefined ? 'scripted-model' : options.modelId;
    this.now = options.now ?? (() => performance.now());
    if (options.batch) {
      this.chatBatch = async (requests) => {
        this.batchCalls++;
        const out: ChatResult[] = [];
        for (const r of requests) out.push(await this.chat(r));
        return out;
      };
    }
  }

  protected defaultKind(): EngineKind {
    return 'openai';
  }

  async load(modelId: string, options?: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal }): Promise<void> {
    throwIfAborted(options?.signal);
    options?.onProgress?.({ phase: 'weights', fraction: 1, text: `Scripted model ${modelId} ready.` });
    this.modelId = modelId;
  }

  async unload(): Promise<void> {
    this.modelId = null;
  }

  private reply(request: ChatRequest, call: number): ScriptedReply {
    const { script } = this.options;
    let r: string | ScriptedReply | Error | undefined;
    if (typeof script === 'function') r = script(request, call);
    else {
      r = script[call];
      if (r === undefined) {
        throw new AppError('engine', `The scripted engine has only ${script.length} replies; call ${call + 1} has none.`);
      }
    }
    if (r instanceof Error) throw r;
    return typeof r === 'string' ? { text: r } : r;
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    if (this.modelId === null) throw new AppError('engine', 'No model is loaded. Load a model first.');
    throwIfAborted(request.signal);
    const call = this.calls.length;
    const { signal, onToken, ...data } = request;
    this.calls.push({ ...data, messages: data.messages.map((m) => ({ ...m })) });
    const started = this.now();
    const scripted = this.reply(request, call);

    // Apply `stop` strings the way engines do: the reply ends before the first one, which is not returned.
    let full = scripted.text;
    let finish: FinishReason = scripted.finishReason ?? 'stop';
    for (const s of request.stop ?? []) {
      const at = s === '' ? -1 : full.indexOf(s);
      if (at >= 0) full = full.slice(0, at);
    }
    let pieces = splitPieces(full);
    if (request.maxTokens !== undefined && countPieces(full) > request.maxTokens) {
      let words = 0;
      pieces = pieces.filter((p) => /\S/.test(p) && ++words <= request.maxTokens!);
      finish = 'length';
    }

    let text = '';
    let emitted = 0;
    const delay = this.options.tokenDelayMs ?? 0;
    for (const [n, piece] of pieces.entries()) {
      // A timer turn every 8 pieces (or every piece with a delay) lets outside events (a Stop button) in;
      // a microtask turn otherwise keeps long scripts fast.
      if (delay > 0 || n % 8 === 7) await new Promise((resolve) => setTimeout(resolve, delay));
      else await Promise.resolve();
      if (signal?.aborted) {
        finish = 'abort';
        break;
      }
      text += piece;
      if (/\S/.test(piece)) emitted++;
      onToken?.(piece);
    }
    const totalMs = Math.max(this.now() - started, 0);
    const promptTokens = request.messages.reduce((n, m) => n + countPieces(m.content), 0);
    const usage: Usage = {
      promptTokens,
      completionTokens: emitted,
      prefillTokensPerSec: totalMs > 0 ? (promptTokens * 1000) / totalMs : 0,
      decodeTokensPerSec: totalMs > 0 ? (emitted * 1000) / totalMs : 0,
      totalMs,
    };
    return { text, finishReason: finish, usage };
  }
}

/**
 * A scripted engine that declares the `adapters` capability, for testing runners that need one (SELF, SRT):
 * requests name adapters through `adapterId`, which the script sees and may answer differently for (as a
 * trained adapter would). It holds no adapter weights, so adding, exporting or merging files is refused.
 */
export class ScriptedAdapterEngine extends ScriptedEngine implements AdapterEngine {
  override readonly capabilities: Declaring<'adapters'> = { adapters: true, trainLora: false, evolve: false };
  readonly model = null;

  protected override defaultKind(): EngineKind {
    return 'tfjs';
  }

  async addAdapter(_adapterId: string, _files: AdapterFiles): Promise<LoraConfig> {
    throw new AppError('unsupported', 'The scripted engine holds no adapter weights.');
  }

  async removeAdapter(_adapterId: string): Promise<void> {}

  async exportAdapter(_adapterId: string): Promise<AdapterFiles> {
    throw new AppError('unsupported', 'The scripted engine holds no adapter weights.');
  }

  async mergedModel(_adapterId: string): Promise<MergedModelFiles> {
    throw new AppError('unsupported', 'The scripted engine holds no adapter weights.');
  }
}
