/**
 * A typed RPC over `postMessage`, shared by every engine worker (web-llm now, tfjs later).
 *
 * An API is a map `{ [method]: { params; result; progress?; token? } }`. From it the message unions are
 * derived, so checking `msg.kind` (and `msg.method`) narrows the payload without casts. The client side is
 * protocol-client.ts (`createWorkerClient`), the worker side protocol-server.ts (`serveWorker`).
 *
 * Wire rules:
 * - every call carries a numeric `id`; the worker answers with exactly one `result` or `error` for it,
 *   and may send any number of `progress` / `token` messages before that;
 * - `cancel` asks the worker to stop one call; the client rejects that call at once with AppError('aborted')
 *   and ignores whatever the worker still sends for the id;
 * - errors cross as `{ code, message }` (WireError) and are rebuilt into AppError on the other side;
 * - params and results must be structured-clone safe; ArrayBuffers may be transferred.
 */
import type { WireError } from '../errors.ts';

/** One method of an API: what goes in, what comes back, and what streams back meanwhile. */
export interface MethodSpec {
  params: unknown;
  result: unknown;
  /** Load/progress reports, sent as `progress` messages. */
  progress?: unknown;
  /** Streamed pieces of the result (generated text), sent as `token` messages. */
  token?: unknown;
}

/** An API: method name → MethodSpec. Interfaces satisfy this as long as each member is a MethodSpec. */
export type ApiSpec<Api> = { [M in keyof Api]: MethodSpec };

export type MethodName<Api> = keyof Api & string;
export type ParamsOf<S> = S extends { params: infer P } ? P : never;
export type ResultOf<S> = S extends { result: infer R } ? R : never;
/** The progress payload, or `never` for methods that report none. */
export type ProgressOf<S> = S extends { progress: infer P } ? P : never;
/** The token payload, or `never` for methods that stream none. */
export type TokenOf<S> = S extends { token: infer T } ? T : never;

// ---------------------------------------------------------------------------------------------------------
// Client → worker

/** A call of one method; `method` narrows `params`. */
export type CallMessage<Api> = {
  [M in MethodName<Api>]: { kind: 'call'; id: number; method: M; params: ParamsOf<Api[M]> };
}[MethodName<Api>];

export interface CancelMessage {
  kind: 'cancel';
  id: number;
}

export type ClientMessage<Api> = CallMessage<Api> | CancelMessage;

// ---------------------------------------------------------------------------------------------------------
// Worker → client

export type ResultMessage<Api> = {
  [M in MethodName<Api>]: { kind: 'result'; id: number; method: M; result: ResultOf<Api[M]> };
}[MethodName<Api>];

export type ProgressMessage<Api> = {
  [M in MethodName<Api>]: { kind: 'progress'; id: number; method: M; progress: ProgressOf<Api[M]> };
}[MethodName<Api>];

export type TokenMessage<Api> = {
  [M in MethodName<Api>]: { kind: 'token'; id: number; method: M; token: TokenOf<Api[M]> };
}[MethodName<Api>];

export interface ErrorMessage {
  kind: 'error';
  id: number;
  error: WireError;
}

export type ServerMessage<Api> = ResultMessage<Api> | ProgressMessage<Api> | TokenMessage<Api> | ErrorMessage;

/**
 * The same messages as written by generic code (the client and server are generic over Api, where the
 * compiler cannot tie a method name to its payload type). Readers use the precise unions above.
 */
export type OutgoingClientMessage =
  | { kind: 'call'; id: number; method: string; params: unknown }
  | CancelMessage;

export type OutgoingServerMessage =
  | { kind: 'result'; id: number; method: string; result: unknown }
  | { kind: 'progress'; id: number; method: string; progress: unknown }
  | { kind: 'token'; id: number; method: string; token: unknown }
  | ErrorMessage;

// ---------------------------------------------------------------------------------------------------------
// Endpoints

/**
 * The part of a Worker, a MessagePort or a worker's global scope that the protocol uses. Browser Workers
 * also fire `error` (the worker script threw or failed to load); ports fire `messageerror` when a message
 * cannot be deserialised.
 */
export interface Endpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message' | 'messageerror' | 'error', listener: (event: Event) => void): void;
  removeEventListener(type: 'message' | 'messageerror' | 'error', listener: (event: Event) => void): void;
  /** MessagePorts must be started when listened to with addEventListener. */
  start?(): void;
  /** Workers can be stopped; the client calls this on close(). */
  terminate?(): void;
}

/** `event.data` of a message event, or undefined for other events. */
export function eventData(event: Event): unknown {
  return 'data' in event ? event.data : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Structural guards (messages come from another realm: check before trusting)

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function hasId(x: Record<string, unknown>): boolean {
  return typeof x.id === 'number' && Number.isInteger(x.id);
}

/** True for anything shaped like a call or cancel message. Method names are checked by the server. */
export function isClientMessage(x: unknown): x is { kind: 'call' | 'cancel'; id: number; method?: unknown; params?: unknown } {
  if (!isRecord(x) || !hasId(x)) return false;
  if (x.kind === 'cancel') return true;
  return x.kind === 'call' && typeof x.method === 'string';
}

export function isWireError(x: unknown): x is WireError {
  return isRecord(x) && typeof x.code === 'string' && typeof x.message === 'string';
}

/** True for anything shaped like a worker → client message. */
export function isServerMessageShape(x: unknown): x is { kind: 'result' | 'progress' | 'token' | 'error'; id: number } {
  if (!isRecord(x) || !hasId(x)) return false;
  switch (x.kind) {
    case 'result':
    case 'progress':
    case 'token':
      return typeof x.method === 'string';
    case 'error':
      return isWireError(x.error);
    default:
      return false;
  }
}
