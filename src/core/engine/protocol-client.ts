/**
 * The caller's side of the worker RPC (see protocol.ts): `call()` posts a request and returns a promise that
 * the worker's `result` / `error` settles; progress and tokens reach the call's own callbacks.
 */
import { AppError, fromWireError } from '../errors.ts';
import {
  eventData,
  isServerMessageShape,
  type ApiSpec,
  type Endpoint,
  type MethodName,
  type OutgoingClientMessage,
  type ParamsOf,
  type ProgressOf,
  type ResultOf,
  type ServerMessage,
  type TokenOf,
} from './protocol.ts';

export interface CallOptions<S> {
  /** Aborting sends `cancel` to the worker and rejects the call with AppError('aborted'). */
  signal?: AbortSignal;
  onProgress?: (progress: ProgressOf<S>) => void;
  onToken?: (token: TokenOf<S>) => void;
  /** Buffers inside `params` to transfer instead of copy (they become unusable here). */
  transfer?: Transferable[];
}

export interface WorkerClient<Api extends ApiSpec<Api>> {
  call<M extends MethodName<Api>>(
    method: M,
    params: ParamsOf<Api[M]>,
    options?: CallOptions<Api[M]>,
  ): Promise<ResultOf<Api[M]>>;
  /** Calls still waiting for an answer. */
  readonly pendingCount: number;
  /** Set once the endpoint failed or was closed; every later call rejects with it. */
  readonly failure: AppError | null;
  /** Called once when the worker crashes or a message cannot be read (not on close()); the worker is terminated. */
  onFailure(listener: (error: AppError) => void): void;
  /** Rejects pending calls, stops listening and terminates the worker if the endpoint is one. */
  close(reason?: string): void;
}

/**
 * Pending calls are stored without their method's types (one map for every method). Method-style members
 * are checked bivariantly, so the typed callbacks of `call<M>()` fit here without casts; the worker is
 * trusted to answer each method with its own result type, which the shape check cannot verify.
 */
interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(error: AppError): void;
  onProgress?(progress: unknown): void;
  onToken?(token: unknown): void;
  cleanup(): void;
}

function isServerMessage<Api>(x: unknown): x is ServerMessage<Api> {
  return isServerMessageShape(x);
}

/** Describes an `error` event (an ErrorEvent in browsers; fields read defensively) for a person. */
function describeErrorEvent(event: Event): string {
  const message: unknown = Reflect.get(event, 'message');
  const error: unknown = Reflect.get(event, 'error');
  const filename: unknown = Reflect.get(event, 'filename');
  const lineno: unknown = Reflect.get(event, 'lineno');
  const parts: string[] = [];
  if (typeof message === 'string' && message) parts.push(message);
  else if (error instanceof Error) parts.push(error.message);
  if (typeof filename === 'string' && filename) parts.push(`at ${filename}:${String(lineno ?? '?')}`);
  return parts.length ? parts.join(' ') : 'no details (the worker script may have failed to load)';
}

/**
 * A client for the API `Api` served at `endpoint` (a Worker, or a MessagePort whose other end runs
 * `serveWorker`). `label` names the worker in error messages ("the web-llm worker").
 */
export function createWorkerClient<Api extends ApiSpec<Api>>(
  endpoint: Endpoint,
  label = 'the engine worker',
): WorkerClient<Api> {
  const pending = new Map<number, Pending>();
  const failureListeners: ((error: AppError) => void)[] = [];
  let nextId = 1;
  let failure: AppError | null = null;

  function settleAll(error: AppError): void {
    const all = [...pending.values()];
    pending.clear();
    for (const p of all) {
      p.cleanup();
      p.reject(error);
    }
  }

  function fail(error: AppError): void {
    if (failure) return;
    failure = error;
    detach();
    // A worker may keep running after an uncaught error (holding GPU memory); its state is unknown: stop it.
    endpoint.terminate?.();
    settleAll(error);
    for (const l of failureListeners) l(error);
  }

  const onMessage = (event: Event): void => {
    const msg = eventData(event);
    if (!isServerMessage<Api>(msg)) return; // not ours (another library on the same port)
    const p = pending.get(msg.id);
    if (!p) return; // cancelled, or already settled
    switch (msg.kind) {
      case 'progress':
        p.onProgress?.(msg.progress);
        return;
      case 'token':
        p.onToken?.(msg.token);
        return;
      case 'result':
        pending.delete(msg.id);
        p.cleanup();
        p.resolve(msg.result);
        return;
      case 'error':
        pending.delete(msg.id);
        p.cleanup();
        p.reject(fromWireError(msg.error));
        return;
    }
  };

  const onError = (event: Event): void => {
    // Keep the browser from also reporting it as an uncaught error: we turn it into a typed rejection.
    event.preventDefault();
    fail(
      new AppError(
        'engine',
        `${label} crashed: ${describeErrorEvent(event)}. Load the model again (a new worker is started); ` +
          'if it keeps happening, reload the page.',
      ),
    );
  };

  const onMessageError = (): void => {
    fail(
      new AppError(
        'engine',
        `${label} sent a message this page could not read (messageerror). Reload the page and try again.`,
      ),
    );
  };

  function detach(): void {
    endpoint.removeEventListener('message', onMessage);
    endpoint.removeEventListener('error', onError);
    endpoint.removeEventListener('messageerror', onMessageError);
  }

  endpoint.addEventListener('message', onMessage);
  endpoint.addEventListener('error', onError);
  endpoint.addEventListener('messageerror', onMessageError);
  endpoint.start?.();

  function post(message: OutgoingClientMessage, transfer: Transferable[] = []): void {
    endpoint.postMessage(message, transfer);
  }

  return {
    call<M extends MethodName<Api>>(
      method: M,
      params: ParamsOf<Api[M]>,
      options: CallOptions<Api[M]> = {},
    ): Promise<ResultOf<Api[M]>> {
      return new Promise<ResultOf<Api[M]>>((resolve, reject) => {
        if (failure) return reject(failure);
        const { signal } = options;
        if (signal?.aborted) return reject(new AppError('aborted', 'Stopped.'));
        const id = nextId++;
        const onAbort = (): void => {
          if (!pending.delete(id)) return;
          signal?.removeEventListener('abort', onAbort);
          post({ kind: 'cancel', id });
          reject(new AppError('aborted', 'Stopped.'));
        };
        pending.set(id, {
          method,
          resolve,
          reject,
          onProgress: options.onProgress,
          onToken: options.onToken,
          cleanup: () => signal?.removeEventListener('abort', onAbort),
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          post({ kind: 'call', id, method, params }, options.transfer);
        } catch (e) {
          // DataCloneError: params that cannot be structured-cloned (a function, a DOM node, ...).
          pending.delete(id);
          signal?.removeEventListener('abort', onAbort);
          const detail = e instanceof Error ? e.message : String(e);
          reject(new AppError('internal', `Could not send "${method}" to ${label}: ${detail}`));
        }
      });
    },
    get pendingCount() {
      return pending.size;
    },
    get failure() {
      return failure;
    },
    onFailure(listener) {
      failureListeners.push(listener);
    },
    close(reason = `${label} was stopped.`) {
      if (!failure) {
        failure = new AppError('engine', reason);
        detach();
        settleAll(failure);
      }
      endpoint.terminate?.();
    },
  };
}
