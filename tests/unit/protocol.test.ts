import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import type { ServerMessage } from '../../src/core/engine/protocol.ts';
import { createWorkerClient } from '../../src/core/engine/protocol-client.ts';
import { serveWorker, type Handlers } from '../../src/core/engine/protocol-server.ts';

/** A small API exercising every message kind. */
interface TestApi {
  add: { params: { a: number; b: number }; result: number };
  count: { params: { to: number }; result: string; progress: { done: number; of: number }; token: string };
  wait: { params: null; result: 'finished' };
  fail: { params: { code: 'bad-input' | 'plain' }; result: never };
  echoBuffer: { params: { buf: ArrayBuffer }; result: { buf: ArrayBuffer; sum: number } };
}

const opened: MessagePort[] = [];
afterEach(() => {
  for (const p of opened.splice(0)) p.close();
});

/** A MessageChannel with `TestApi` served on one end; returns the client end. */
function setup(overrides: Partial<Handlers<TestApi>> = {}) {
  const { port1, port2 } = new MessageChannel();
  opened.push(port1, port2);
  const seen = { waitAborted: false, waitStarted: 0 };
  const handlers: Handlers<TestApi> = {
    add: ({ a, b }) => a + b,
    count: async ({ to }, ctx) => {
      for (let i = 1; i <= to; i++) {
        ctx.progress({ done: i, of: to });
        ctx.token(`${i} `);
        await new Promise((r) => setTimeout(r, 1));
      }
      return 'counted';
    },
    wait: (_p, ctx) => {
      seen.waitStarted++;
      return new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          seen.waitAborted = true;
          reject(new AppError('aborted', 'Stopped.'));
        });
        setTimeout(() => resolve('finished'), 5_000);
      });
    },
    fail: ({ code }) => {
      if (code === 'bad-input') throw new AppError('bad-input', 'The value is wrong: use a number.');
      throw new Error('plain failure');
    },
    echoBuffer: ({ buf }, ctx) => {
      const sum = new Uint8Array(buf).reduce((s, x) => s + x, 0);
      ctx.transfer([buf]);
      return { buf, sum };
    },
    ...overrides,
  };
  const server = serveWorker<TestApi>(port2, handlers);
  const client = createWorkerClient<TestApi>(port1, 'the test worker');
  return { client, server, seen, port1, port2 };
}

describe('worker protocol', () => {
  it('round-trips a call', async () => {
    const { client } = setup();
    await expect(client.call('add', { a: 2, b: 40 })).resolves.toBe(42);
    expect(client.pendingCount).toBe(0);
  });

  it('delivers progress and tokens to the calling request, in order, before the result', async () => {
    const { client } = setup();
    const events: string[] = [];
    const result = await client.call(
      'count',
      { to: 3 },
      {
        onProgress: (p) => events.push(`p${p.done}/${p.of}`),
        onToken: (t) => events.push(`t${t.trim()}`),
      },
    );
    expect(result).toBe('counted');
    expect(events).toEqual(['p1/3', 't1', 'p2/3', 't2', 'p3/3', 't3']);
  });

  it('keeps concurrent calls apart', async () => {
    const { client } = setup();
    const tokensA: string[] = [];
    const tokensB: string[] = [];
    const [a, b, c] = await Promise.all([
      client.call('count', { to: 2 }, { onToken: (t) => tokensA.push(t) }),
      client.call('count', { to: 4 }, { onToken: (t) => tokensB.push(t) }),
      client.call('add', { a: 1, b: 1 }),
    ]);
    expect([a, b, c]).toEqual(['counted', 'counted', 2]);
    expect(tokensA.join('')).toBe('1 2 ');
    expect(tokensB.join('')).toBe('1 2 3 4 ');
  });

  it('rebuilds errors as typed AppErrors: code and message survive the boundary', async () => {
    const { client } = setup();
    const e1 = await client.call('fail', { code: 'bad-input' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AppError);
    expect(e1).toMatchObject({ code: 'bad-input', message: 'The value is wrong: use a number.' });
    const e2 = await client.call('fail', { code: 'plain' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(AppError);
    expect(e2).toMatchObject({ code: 'internal', message: 'plain failure' });
  });

  it('answers an unknown method with an unsupported error', async () => {
    const { port1 } = setup();
    const reply = new Promise<unknown>((resolve) => port1.addEventListener('message', (e) => resolve(e.data), { once: true }));
    port1.start();
    port1.postMessage({ kind: 'call', id: 99, method: 'nope', params: null });
    expect(await reply).toEqual({
      kind: 'error',
      id: 99,
      error: { code: 'unsupported', message: expect.stringContaining('no method "nope"') },
    });
  });

  it('abort: the caller rejects with aborted at once, the handler sees its signal, nothing more arrives', async () => {
    const { client, server, seen } = setup();
    const controller = new AbortController();
    const call = client.call('wait', null, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.waitStarted).toBe(1);
    expect(server.activeCount).toBe(1);
    controller.abort();
    const e = await call.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('aborted');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.waitAborted).toBe(true);
    expect(server.activeCount).toBe(0);
    expect(client.pendingCount).toBe(0);
    // The channel still works for the next call.
    await expect(client.call('add', { a: 1, b: 2 })).resolves.toBe(3);
  });

  it('abort of one call leaves the others running', async () => {
    const { client } = setup();
    const controller = new AbortController();
    const stopped = client.call('wait', null, { signal: controller.signal });
    const tokens: string[] = [];
    const running = client.call('count', { to: 5 }, { onToken: (t) => tokens.push(t) });
    controller.abort();
    await expect(stopped).rejects.toMatchObject({ code: 'aborted' });
    await expect(running).resolves.toBe('counted');
    expect(tokens).toHaveLength(5);
  });

  it('an already-aborted signal rejects without sending anything', async () => {
    const { client, seen } = setup();
    const controller = new AbortController();
    controller.abort();
    await expect(client.call('wait', null, { signal: controller.signal })).rejects.toMatchObject({ code: 'aborted' });
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.waitStarted).toBe(0);
  });

  it('transfers buffers both ways instead of copying them', async () => {
    const { client } = setup();
    const buf = new Uint8Array([1, 2, 3, 4]).buffer;
    const out = await client.call('echoBuffer', { buf }, { transfer: [buf] });
    expect(buf.byteLength).toBe(0); // moved to the worker side
    expect(out.sum).toBe(10);
    expect([...new Uint8Array(out.buf)]).toEqual([1, 2, 3, 4]);
  });

  it('params that cannot be cloned reject with a typed error', async () => {
    const { client } = setup();
    const bad = { a: 1, b: (() => 2) as unknown as number };
    await expect(client.call('add', bad)).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('Could not send "add"') });
  });

  it('a worker crash (error event) rejects every pending call with a typed error, and later calls too', async () => {
    const { client, port1 } = setup();
    const failures: AppError[] = [];
    client.onFailure((e) => failures.push(e));
    const a = client.call('wait', null);
    const b = client.call('wait', null);
    await new Promise((r) => setTimeout(r, 10));
    const crash = new Event('error');
    Object.defineProperty(crash, 'message', { value: 'Uncaught TypeError: x is undefined' });
    port1.dispatchEvent(crash);
    for (const p of [a, b]) {
      const e = await p.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('engine');
      expect((e as AppError).message).toContain('the test worker crashed: Uncaught TypeError: x is undefined');
    }
    expect(failures).toHaveLength(1);
    expect(client.failure?.code).toBe('engine');
    await expect(client.call('add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'engine' });
  });

  it('a crash terminates the worker, whose state is unknown', async () => {
    const { port1, port2 } = new MessageChannel();
    opened.push(port1, port2);
    let terminated = 0;
    // A Worker-like endpoint: a port plus terminate().
    const worker = Object.assign(port1, { terminate: () => void terminated++ });
    const client = createWorkerClient<TestApi>(worker);
    port1.dispatchEvent(new Event('error'));
    expect(terminated).toBe(1);
    await expect(client.call('add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('the engine worker crashed') });
  });

  it('messageerror rejects pending calls with a typed error', async () => {
    const { client, port1 } = setup();
    const a = client.call('wait', null);
    port1.dispatchEvent(new Event('messageerror'));
    await expect(a).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('could not read') });
  });

  it('close() rejects pending calls and stops listening', async () => {
    const { client } = setup();
    const a = client.call('wait', null);
    client.close('Engine closed for the test.');
    await expect(a).rejects.toMatchObject({ code: 'engine', message: 'Engine closed for the test.' });
    await expect(client.call('add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'engine' });
  });

  it('ignores messages that are not protocol messages', async () => {
    const { client, port2 } = setup();
    port2.postMessage({ hello: 'world' });
    port2.postMessage({ kind: 'result', id: 12345, method: 'add', result: 1 }); // unknown id
    await expect(client.call('add', { a: 5, b: 5 })).resolves.toBe(10);
  });

  it('derives message unions in which kind and method narrow the payload', () => {
    type Msg = ServerMessage<TestApi>;
    const narrow = (m: Msg): void => {
      if (m.kind === 'progress' && m.method === 'count') expectTypeOf(m.progress).toEqualTypeOf<{ done: number; of: number }>();
      if (m.kind === 'token' && m.method === 'count') expectTypeOf(m.token).toEqualTypeOf<string>();
      if (m.kind === 'result' && m.method === 'add') expectTypeOf(m.result).toEqualTypeOf<number>();
      if (m.kind === 'result' && m.method === 'wait') expectTypeOf(m.result).toEqualTypeOf<'finished'>();
      if (m.kind === 'error') expectTypeOf(m.error.code).toBeString();
    };
    narrow({ kind: 'result', id: 1, method: 'add', result: 3 });
    expectTypeOf(createWorkerClient<TestApi>).returns.toHaveProperty('call');
  });
});
