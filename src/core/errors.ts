/**
 * Typed errors shared by every room. Each error has a stable `code` (for programs and for crossing a worker
 * boundary) and a message written for a person: what went wrong and what to do about it.
 */

export type ErrorCode =
  | 'aborted'
  | 'bad-input'
  | 'unsupported'
  | 'safetensors'
  | 'gguf'
  /** A malformed MLC (web-llm) model folder: tensor-cache.json, mlc-chat-config.json or a weight shard. */
  | 'mlc'
  | 'model-config'
  | 'adapter-mismatch'
  | 'tokenizer'
  | 'context-overflow'
  | 'network'
  | 'not-found'
  | 'quota-exceeded'
  | 'bundle-invalid'
  | 'zip-invalid'
  | 'bad-encoding'
  | 'non-finite'
  | 'schema-newer'
  | 'webgpu-unavailable'
  | 'shader-f16-missing'
  | 'device-lost'
  | 'engine'
  | 'training'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'AppError';
  }
}

/** The shape in which an error crosses a worker boundary (structured-clone safe). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof AppError) return { code: e.code, message: e.message };
  if (isAbort(e)) return { code: 'aborted', message: 'Stopped.' };
  if (isQuotaExceeded(e)) return { code: 'quota-exceeded', message: quotaExceeded('save').message };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message };
}

/**
 * The `quota-exceeded` error every storage path throws (IndexedDB writes, the model cache): `action` completes
 * "Could not …", e.g. "add the tasks", "download model.safetensors".
 */
export function quotaExceeded(action: string, cause?: unknown): AppError {
  return new AppError(
    'quota-exceeded',
    `Could not ${action}: this site's browser storage is full, so nothing from this action was saved. ` +
      'Delete experiments (or adapters) you no longer need on the Experiments page, or clear cached models, ' +
      'then try again. Settings shows how much storage is used.',
    { cause },
  );
}

/**
 * Codes that mean "the input was refused" (a file, a flag, a config): the command lines exit with 2 for these
 * and 1 for everything else (a missing folder, a network failure, a bug).
 */
const INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad-input',
  'unsupported',
  'safetensors',
  'gguf',
  'model-config',
  'adapter-mismatch',
  'bundle-invalid',
  'zip-invalid',
  'bad-encoding',
  'non-finite',
]);

/** The exit status of a command line that failed with `e`: 2 for refused input, 1 otherwise. */
export function exitCodeOf(e: unknown): 1 | 2 {
  return e instanceof AppError && INPUT_CODES.has(e.code) ? 2 : 1;
}

/** A value read from JSON, as messages show it: JSON, except Infinity and NaN (JSON `1e309` parses as Infinity), which JSON.stringify would write as null. */
export function showValue(v: unknown): string {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
}

export function fromWireError(w: WireError): AppError {
  return new AppError(w.code, w.message);
}

export function isAbort(e: unknown): boolean {
  return (
    (e instanceof AppError && e.code === 'aborted') ||
    (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError')
  );
}

export function isQuotaExceeded(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const name = (e as { name?: unknown }).name;
  if (name === 'QuotaExceededError') return true;
  // Dexie wraps the DOMException; look one level down.
  const inner = (e as { inner?: unknown }).inner;
  return typeof inner === 'object' && inner !== null && (inner as { name?: unknown }).name === 'QuotaExceededError';
}

/** Throws an `aborted` AppError if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('aborted', 'Stopped.');
}
