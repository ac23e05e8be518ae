/**
 * The worker's side of the RPC (see protocol.ts): each method gets a handler `(params, ctx)`; what it
 * returns becomes a `result`, what it throws an `error` as `{code, message}`. `ctx.signal` fires when the
 * caller cancels; after that nothing more is sent for the call.
 */
import { AppError, toWireError } from '../errors.ts';
import {
  eventData,
  isClientMessage,
  type ApiSpec,
  type CallMessage,
  type Endpoint,
  type MethodName,
  type OutgoingServerMessage,
  type ParamsOf,
  type ProgressOf,
  type ResultOf,
  type TokenOf,
} from './protocol.ts';

export interface HandlerContext<S> {
  /** Fires when the caller aborts this call. */
  signal: AbortSignal;
  /** Sends a `progress` message for this call. */
  progress(progress: ProgressOf<S>): void;
  /** Sends a `token` message for this call. */
  token(token: TokenOf<S>): void;
  /** Names buffers inside the result to transfer instead of copy. */
  transfer(list: Transferable[]): void;
}

export type Handler<S> = (params: ParamsOf<S>, ctx: HandlerContext<S>) => Promise<ResultOf<S>> | ResultOf<S>;

export type Handlers<Api extends ApiSpec<Api>> = { [M in MethodName<Api>]: Handler<Api[M]> };

export interface WorkerServer {
  /** Calls in progress. */
  readonly activeCount: number;
  /** Stops listening and aborts every call in progress. */
  close(): void;
}

/**
 * A call whose method this worker serves. Params are trusted to match the method's type: both ends are
 * built from the same API type, and a structural check of every payload would duplicate it.
 */
function isCallOf<Api extends ApiSpec<Api>>(
  msg: { kind: string; method?: unknown },
  handlers: Handlers<Api>,
): msg is CallMessage<Api> {
  return msg.kind === 'call' && typeof msg.method === 'string' && Object.hasOwn(handlers, msg.method);
}

export function serveWorker<Api extends ApiSpec<Api>>(endpoint: Endpoint, handlers: Handlers<Api>): WorkerServer {
  const active = new Map<number, AbortController>();

  function post(message: OutgoingServerMessage, transfer: Transferable[] = []): void {
    endpoint.postMessage(message, transfer);
  }

  function postError(id: number, e: unknown): void {
    post({ kind: 'error', id, error: toWireError(e) });
  }

  async function run<M extends MethodName<Api>>(id: number, method: M, params: ParamsOf<Api[M]>): Promise<void> {
    const controller = new AbortController();
    active.set(id, controller);
    const { signal } = controller;
    let transfer: Transferable[] = [];
    const ctx: HandlerContext<Api[M]> = {
      signal,
      progress: (progress) => {
        if (!signal.aborted) post({ kind: 'progress', id, method, progress });
      },
      token: (token) => {
        if (!signal.aborted) post({ kind: 'token', id, method, token });
      },
      transfer: (list) => {
        transfer = list;
      },
    };
    try {
      const handler: Handler<Api[M]> = handlers[method];
      const result = await handler(params, ctx);
      if (!signal.aborted) post({ kind: 'result', id, method, result }, transfer);
    } catch (e) {
      if (!signal.aborted) postError(id, e);
    } finally {
      active.delete(id);
    }
  }

  function dispatch(msg: CallMessage<Api>): void {
    void run(msg.id, msg.method, msg.params);
  }

  const onMessage = (event: Event): void => {
    const msg = eventData(event);
    if (!isClientMessage(msg)) return; // not ours
    if (msg.kind === 'cancel') {
      const c = active.get(msg.id);
      active.delete(msg.id);
      c?.abort(new AppError('aborted', 'Stopped.'));
      return;
    }
    if (!isCallOf(msg, handlers)) {
      postError(
        msg.id,
        new AppError('unsupported', `The worker has no method "${String(msg.method)}". Is the page newer than the worker?`),
      );
      return;
    }
    dispatch(msg);
  };

  endpoint.addEventListener('message', onMessage);
  endpoint.start?.();

  return {
    get activeCount() {
      return active.size;
    },
    close() {
      endpoint.removeEventListener('message', onMessage);
      for (const c of active.values()) c.abort(new AppError('aborted', 'The worker is shutting down.'));
      active.clear();
    },
  };
}
