/**
 * Calls worker handlers in the same thread, with the worker client's contract (protocol-client.ts): progress
 * and tokens reach the call's callbacks, and aborting rejects the call at once with AppError('aborted') while
 * the handler's own signal fires so that it stops at its next check. What runs in a worker can so run
 * in-process (Node) unchanged, and an engine cannot tell the two apart.
 */
import { AppError, toWireError } from '../../errors.ts';
import type { CallOptions } from '../protocol-client.ts';
import type { ApiSpec, MethodName, ParamsOf, ResultOf } from '../protocol.ts';
import type { HandlerContext, Handlers } from '../protocol-server.ts';

/** The part of WorkerClient an engine uses. */
export interface ApiCaller<Api extends ApiSpec<Api>> {
  call<M extends MethodName<Api>>(method: M, params: ParamsOf<Api[M]>, options?: CallOptions<Api[M]>): Promise<ResultOf<Api[M]>>;
}

export function localCaller<Api extends ApiSpec<Api>>(handlers: Handlers<Api>): ApiCaller<Api> {
  return {
    call<M extends MethodName<Api>>(method: M, params: ParamsOf<Api[M]>, options: CallOptions<Api[M]> = {}): Promise<ResultOf<Api[M]>> {
      const { signal } = options;
      if (signal?.aborted) return Promise.reject(new AppError('aborted', 'Stopped.'));
      const controller = new AbortController();
      const ctx: HandlerContext<Api[M]> = {
        signal: controller.signal,
        progress: (p) => {
          if (!controller.signal.aborted) options.onProgress?.(p);
        },
        token: (t) => {
          if (!controller.signal.aborted) options.onToken?.(t);
        },
        transfer: () => undefined,
      };
      return new Promise<ResultOf<Api[M]>>((resolve, reject) => {
        const onAbort = (): void => {
          controller.abort(new AppError('aborted', 'Stopped.'));
          reject(new AppError('aborted', 'Stopped.'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        Promise.resolve()
          .then(() => handlers[method](params, ctx))
          .then(
            (r) => {
              if (!controller.signal.aborted) resolve(r);
            },
            (e: unknown) => {
              if (controller.signal.aborted) return;
              // As a worker would send it: { code, message } (an AbortError becomes 'aborted', and so on).
              const wire = toWireError(e);
              reject(e instanceof AppError ? e : new AppError(wire.code, wire.message, { cause: e }));
            },
          )
          .finally(() => signal?.removeEventListener('abort', onAbort));
      });
    },
  };
}
