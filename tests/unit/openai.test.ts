/**
 * The OpenAI-compatible engine against a small local HTTP server that speaks OpenAI's streaming format
 * (server-sent events), including its failure modes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { OpenAICompatibleEngine, normalizeBaseUrl } from '../../src/core/engine/openai/engine.ts';
import { SseParser } from '../../src/core/engine/openai/sse.ts';
import { blockedPort } from '../../src/core/engine/openai/blocked-ports.ts';
import type { LoadProgress } from '../../src/core/engine/types.ts';

const KEY = 'sk-test-good';
const MODELS = ['stream-ok', 'old-server', 'slow', 'malformed', 'midstream-error', 'server-error', 'cut', 'json', 'no-done'];

let server: Server;
let base = '';
const bodies: Record<string, unknown>[] = [];
const auths: (string | undefined)[] = [];

function chunk(content: string | null, finish: string | null = null): string {
  const delta = content === null ? {} : { content };
  return `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function handleChat(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  const model = String(body.model);
  const sse = () => res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  switch (model) {
    case 'stream-ok': {
      sse();
      // A keep-alive comment, a role-only chunk, content split mid-line and across \r\n, usage, [DONE].
      const whole =
        ': keep-alive\n\n' +
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] })}\r\n\r\n` +
        chunk('The answer') +
        chunk(' is 42.') +
        chunk(null, 'stop') +
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } })}\n\n` +
        'data: [DONE]\n\n';
      const cuts = [5, 17, 60, 61, 140, 200, whole.length];
      let at = 0;
      for (const c of cuts) {
        res.write(whole.slice(at, Math.min(c, whole.length)));
        at = Math.min(c, whole.length);
        await sleep(3);
      }
      res.end();
      return;
    }
    case 'old-server': {
      if (body.stream_options !== undefined) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Unrecognized request argument supplied: stream_options' } }));
        return;
      }
      sse();
      res.end(chunk('Hi') + chunk(' you') + chunk(null, 'length') + 'data: [DONE]\n\n');
      return;
    }
    case 'slow': {
      sse();
      for (let i = 0; i < 40 && !res.destroyed; i++) {
        res.write(chunk(`w${i} `));
        await sleep(25);
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    case 'malformed':
      sse();
      res.end(chunk('ok') + 'data: {this is not json}\n\n');
      return;
    case 'midstream-error':
      sse();
      res.end(chunk('partial') + `data: ${JSON.stringify({ error: { message: 'The model is overloaded', type: 'server_error' } })}\n\n`);
      return;
    case 'server-error':
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('upstream exploded');
      return;
    case 'cut':
      sse();
      res.write(chunk('half an ans'));
      await sleep(10);
      req.socket.destroy();
      return;
    case 'no-done':
      sse();
      res.end(chunk('no ending'));
      return;
    case 'json':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [{ index: 0, message: { role: 'assistant', content: 'plain JSON reply' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 3 },
        }),
      );
      return;
    default:
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `The model \`${model}\` does not exist`, code: 'model_not_found' } }));
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      auths.push(req.headers.authorization);
      if (req.headers.authorization !== `Bearer ${KEY}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Incorrect API key provided: sk-wr***ng.', type: 'invalid_request_error' } }));
        return;
      }
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: MODELS.map((id) => ({ id, object: 'model' })) }));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        const body = JSON.parse(raw) as Record<string, unknown>;
        bodies.push(body);
        void handleChat(req, res, body);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Cannot ' + req.method + ' ' + req.url);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

async function loaded(model: string, apiKey = KEY): Promise<OpenAICompatibleEngine> {
  const engine = new OpenAICompatibleEngine({ baseUrl: base, model, apiKey });
  await engine.load(model);
  return engine;
}

const ask = [{ role: 'user' as const, content: 'What is six times seven?' }];

describe('OpenAICompatibleEngine', () => {
  it('streams tokens, parses usage and maps every setting into the request', async () => {
    const engine = await loaded('stream-ok');
    expect(engine.modelId).toBe('stream-ok');
    const tokens: string[] = [];
    bodies.length = 0;
    const r = await engine.chat({ messages: ask, maxTokens: 50, temperature: 0, topP: 0.5, seed: 7, stop: ['###'], onToken: (t) => tokens.push(t) });
    expect(r.text).toBe('The answer is 42.');
    expect(tokens).toEqual(['The answer', ' is 42.']);
    expect(r.finishReason).toBe('stop');
    expect(r.usage.promptTokens).toBe(12);
    expect(r.usage.completionTokens).toBe(5);
    expect(r.usage.approximate).toBeUndefined();
    expect(r.usage.totalMs).toBeGreaterThan(0);
    expect(r.usage.prefillTokensPerSec).toBeGreaterThan(0);
    expect(r.usage.decodeTokensPerSec).toBeGreaterThan(0);
    expect(bodies[0]).toEqual({
      model: 'stream-ok',
      messages: ask,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 50,
      temperature: 0,
      top_p: 0.5,
      seed: 7,
      stop: ['###'],
    });
    expect(auths.at(-1)).toBe(`Bearer ${KEY}`);
  });

  it('retries without stream_options on a server that rejects it, and estimates usage', async () => {
    const engine = await loaded('old-server');
    bodies.length = 0;
    const r = await engine.chat({ messages: ask });
    expect(r.text).toBe('Hi you');
    expect(r.finishReason).toBe('length');
    expect(r.usage).toMatchObject({ promptTokens: 0, completionTokens: 2, approximate: true });
    expect(bodies).toHaveLength(2);
    expect(bodies[1].stream_options).toBeUndefined();
    // Remembered: the next request does not try again.
    await engine.chat({ messages: ask });
    expect(bodies).toHaveLength(3);
  });

  it('abort mid-stream resolves with the text so far and finishReason abort', async () => {
    const engine = await loaded('slow');
    const controller = new AbortController();
    const tokens: string[] = [];
    const r = await engine.chat({
      messages: ask,
      signal: controller.signal,
      onToken: (t) => {
        tokens.push(t);
        if (tokens.length === 3) controller.abort();
      },
    });
    expect(r.finishReason).toBe('abort');
    expect(r.text).toBe('w0 w1 w2 ');
    expect(r.usage.approximate).toBe(true);
  });

  it('an already-aborted signal rejects with aborted', async () => {
    const engine = await loaded('stream-ok');
    const c = new AbortController();
    c.abort();
    await expect(engine.chat({ messages: ask, signal: c.signal })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('401: the endpoint rejected the API key (at load and at chat), without echoing the key', async () => {
    const bad = new OpenAICompatibleEngine({ baseUrl: base, model: 'stream-ok', apiKey: 'sk-wrong-secret' });
    const e = await bad.load('stream-ok').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'bad-input', message: expect.stringContaining('The endpoint rejected the API key') });
    expect((e as AppError).message).toContain('Incorrect API key provided');
    expect((e as AppError).message).not.toContain('sk-wrong-secret');
  });

  it('404: no such model or route, with the server explanation', async () => {
    const engine = await loaded('stream-ok');
    const wrongRoute = new OpenAICompatibleEngine({ baseUrl: base.replace('/v1', '/v2'), model: 'stream-ok', apiKey: KEY });
    await wrongRoute.load('stream-ok'); // a server without /models passes load
    await expect(wrongRoute.chat({ messages: ask })).rejects.toMatchObject({ code: 'not-found', message: expect.stringContaining('No such model or route') });
    // A model the endpoint does not list fails at load, with the list.
    await expect(engine.load('gpt-99')).rejects.toMatchObject({ code: 'not-found', message: expect.stringContaining('It offers: stream-ok, old-server') });
  });

  it('500: the endpoint failed, with its message', async () => {
    const engine = await loaded('server-error');
    await expect(engine.chat({ messages: ask })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('HTTP 500') });
    await expect(engine.chat({ messages: ask })).rejects.toMatchObject({ message: expect.stringContaining('upstream exploded') });
  });

  it('a malformed chunk is a typed error, not a crash', async () => {
    const engine = await loaded('malformed');
    await expect(engine.chat({ messages: ask })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('malformed stream chunk (not JSON): "{this is not json}"') });
  });

  it('an error sent mid-stream is reported with its message', async () => {
    const engine = await loaded('midstream-error');
    await expect(engine.chat({ messages: ask })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('The model is overloaded') });
  });

  it('a connection cut mid-answer, or a stream that ends unfinished, is a network error', async () => {
    const cut = await loaded('cut');
    await expect(cut.chat({ messages: ask })).rejects.toMatchObject({ code: 'network' });
    const early = await loaded('no-done');
    await expect(early.chat({ messages: ask })).rejects.toMatchObject({ code: 'network', message: expect.stringContaining('closed before the answer finished') });
  });

  it('accepts a server that ignores stream:true and answers with one JSON completion', async () => {
    const engine = await loaded('json');
    const r = await engine.chat({ messages: ask });
    expect(r).toMatchObject({ text: 'plain JSON reply', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 3 } });
  });

  it('an unreachable server: could not reach <url>, is it running and does it allow this origin', async () => {
    // 1023: a port nothing listens on here, and one browsers allow.
    const engine = new OpenAICompatibleEngine({ baseUrl: 'http://127.0.0.1:1023/v1', model: 'x', apiKey: '' });
    const progress: LoadProgress[] = [];
    const e = await engine.load('x', { onProgress: (p) => progress.push(p) }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'network', message: expect.stringContaining('Could not reach http://127.0.0.1:1023/v1: is the server running and does it allow this origin') });
    expect(progress[0].phase).toBe('connect');
    expect(engine.modelId).toBeNull();
  });

  it('a port browsers block (ERR_UNSAFE_PORT) is named as such, not blamed on the server or CORS', async () => {
    for (const port of [6000, 9, 10080]) {
      const engine = new OpenAICompatibleEngine({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'x', apiKey: '' });
      const e = (await engine.load('x').catch((x: unknown) => x)) as Error;
      expect(e).toMatchObject({ code: 'network' });
      expect(e.message).toMatch(new RegExp(`^The browser blocks connections to port ${port} \\(Chromium: ERR_UNSAFE_PORT\\)`));
      expect(e.message).toContain('the server and its CORS settings are not at fault. Serve the endpoint on another port');
      expect(e.message).not.toContain('is the server running');
    }
    expect(blockedPort('http://localhost:8000/v1')).toBeNull();
    expect(blockedPort('http://localhost/v1')).toBeNull();
    expect(blockedPort('not a url')).toBeNull();
  });

  it('chat before load, and adapters, are clear errors', async () => {
    const engine = new OpenAICompatibleEngine({ baseUrl: base, model: 'stream-ok', apiKey: KEY });
    await expect(engine.chat({ messages: ask })).rejects.toMatchObject({ code: 'engine', message: expect.stringContaining('Load it first') });
    await engine.load('');
    expect(engine.modelId).toBe('stream-ok'); // the constructor's model
    await expect(engine.chat({ messages: ask, adapterId: 'a' })).rejects.toMatchObject({ code: 'unsupported' });
    await engine.unload();
    expect(engine.modelId).toBeNull();
  });

  it('validates the base URL', () => {
    expect(normalizeBaseUrl(' http://localhost:8000/v1/ ')).toBe('http://localhost:8000/v1');
    expect(normalizeBaseUrl('https://api.example.com/v1/chat/completions')).toBe('https://api.example.com/v1');
    expect(() => normalizeBaseUrl('localhost:8000')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => normalizeBaseUrl('not a url')).toThrow(/is not a URL/);
  });
});

describe('SSE parser', () => {
  it('handles comments, multi-line data, named events, and \\r\\n split across chunks', () => {
    const p = new SseParser();
    const events = [
      ...p.push(': ping\r'),
      ...p.push('\ndata: a\r'),
      ...p.push('\ndata:b\n'),
      ...p.push('\nevent: error\ndata: {"x":1}\n'),
      ...p.push('\n'),
      ...p.push('data: tail'),
      ...p.end(),
    ];
    expect(events).toEqual([
      { event: '', data: 'a\nb', id: null },
      { event: 'error', data: '{"x":1}', id: null },
      { event: '', data: 'tail', id: null },
    ]);
  });
});
