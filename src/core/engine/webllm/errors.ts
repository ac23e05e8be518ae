/**
 * web-llm's errors (class names from @mlc-ai/web-llm 0.2.86 `src/error.ts`, plus the browser's own fetch,
 * Cache API and WebGPU errors) turned into AppErrors whose message says what to do.
 */
import { AppError, isAbort, isQuotaExceeded } from '../../errors.ts';

export interface WebLlmErrorContext {
  phase: 'load' | 'chat' | 'cache';
  /** The web-llm model id involved, if any. */
  webllmId: string | null;
  /** True when the worker had this model loaded before the call (a "not loaded" error then means device loss). */
  wasLoaded: boolean;
  /** Hosts the files come from, for network messages ("huggingface.co and raw.githubusercontent.com"). */
  hosts: string[];
}

const NOT_LOADED = new Set(['ModelNotLoadedError', 'EngineNotLoadedError', 'WorkerEngineModelNotLoadedError']);
const CONFIG_VALUE = new Set([
  'ConfigValueError',
  'MinValueError',
  'NonNegativeError',
  'InvalidNumberStringError',
  'DependencyError',
]);

const DEVICE_LOST = /device (?:was |is )?lost|GPUDevice.*lost|DeviceLost/i;
const OUT_OF_MEMORY = /out of memory|GPUOutOfMemoryError|allocation failed|OOM\b/i;
const NETWORK =
  /failed to fetch|NetworkError|network error|Load failed|Cannot fetch|Unable to fetch|received status|Failed to execute 'add' on 'Cache'|Request failed|ERR_/i;

export function deviceLostError(webllmId: string | null): AppError {
  return new AppError(
    'device-lost',
    `The GPU was reset (WebGPU device lost) and ${webllmId ?? 'the model'} was unloaded. Load the model again ` +
      '(the next request reloads it automatically). If it keeps happening, pick a smaller model or close other ' +
      'GPU-heavy tabs.',
  );
}

function name(e: unknown): string {
  return e instanceof Error ? e.name : '';
}

function text(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : String(e);
}

export function classifyWebLlmError(e: unknown, ctx: WebLlmErrorContext): AppError {
  if (e instanceof AppError) return e;
  if (isAbort(e)) return new AppError('aborted', 'Stopped.');
  const model = ctx.webllmId ?? 'the model';
  const n = name(e);
  const msg = text(e);
  if (isQuotaExceeded(e)) {
    return new AppError(
      'quota-exceeded',
      `The browser's storage is full, so ${model} cannot be cached. Delete cached models you no longer use ` +
        '(or old experiments), then load again.',
    );
  }
  if (n === 'WebGPUNotAvailableError' || n === 'WebGPUNotFoundError') {
    return new AppError(
      'webgpu-unavailable',
      'This browser has no usable WebGPU, which the web-llm engine needs. Use the tfjs engine on the wasm ' +
        'backend, or open the page in Chrome or Edge 113+ on a desktop with hardware acceleration turned on.',
    );
  }
  if (n === 'ShaderF16SupportError' || (n === 'FeatureSupportError' && msg.includes('shader-f16'))) {
    return new AppError(
      'shader-f16-missing',
      `${model} needs the WebGPU feature shader-f16, which this GPU lacks. Pick the q4f32_1 variant of the ` +
        'same model instead.',
    );
  }
  if (n === 'FeatureSupportError') {
    return new AppError('unsupported', `${msg} Pick another model or variant.`);
  }
  if (n === 'ModelNotFoundError') {
    return new AppError('not-found', `web-llm has no model "${model}" in its list. Pick a model from the catalog.`);
  }
  if (NOT_LOADED.has(n)) {
    if (ctx.wasLoaded) return deviceLostError(ctx.webllmId);
    return new AppError('engine', 'No model is loaded in the web-llm engine. Load a model first.');
  }
  // web-llm names one of its setting errors "RangeError" too; the native RangeError (e.g. a failed buffer
  // allocation) is told apart by web-llm's "Make sure …" wording.
  if (CONFIG_VALUE.has(n) || (n === 'RangeError' && msg.startsWith('Make sure'))) {
    return new AppError('bad-input', `web-llm rejected a generation setting: ${msg}`);
  }
  if (n === 'DeviceLostError' || DEVICE_LOST.test(msg)) {
    if (ctx.phase === 'load') {
      return new AppError(
        'device-lost',
        `The GPU ran out of memory while loading ${model} (the WebGPU device was lost). Pick a smaller model ` +
          'or a q4 variant, close other GPU-heavy tabs, then load again.',
      );
    }
    return deviceLostError(ctx.webllmId);
  }
  if (OUT_OF_MEMORY.test(msg) || n === 'GPUOutOfMemoryError') {
    return new AppError(
      'engine',
      `Out of memory while ${ctx.phase === 'load' ? 'loading' : 'running'} ${model}: ${msg}. Pick a smaller ` +
        'model or a q4 variant, or close other tabs, then try again.',
    );
  }
  if ((n === 'TypeError' && /fetch|network|Cache/i.test(msg)) || NETWORK.test(msg)) {
    const from = ctx.hosts.length ? ` (the files come from ${ctx.hosts.join(' and ')})` : '';
    return new AppError(
      'network',
      `Could not download ${model}: ${msg}. Check the internet connection${from} and load again; files that ` +
        'finished downloading stay cached.',
    );
  }
  const doing = ctx.phase === 'load' ? 'loading' : ctx.phase === 'chat' ? 'generating with' : 'managing the cache of';
  return new AppError('engine', `web-llm failed while ${doing} ${model}: ${msg}`);
}
