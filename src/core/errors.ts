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
  if (isQuotaExceeded(e)) {
    return {
      code: 'quota-exceeded',
      message: 'The browser storage quota is full. Delete old experiments or cached models, then try again.',
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message };
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
