/** Hugging Face hub source against the local stand-in: layout, progress, caching (no request the second time), retries. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { hubSource, type HubOptions } from '../../src/core/io/hub-source.ts';
import { urlFolderSource } from '../../src/core/io/url-source.ts';
import type { ByteProgress } from '../../src/core/io/model-source.ts';
import { MemoryResponseCache } from '../../src/core/io/response-cache.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { generate } from '../../src/core/model/generate.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { startHubServer, type HubServer } from '../fixtures/hub-server.ts';
import { reference } from '../fixtures/reference.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

let hub: HubServer;
beforeAll(async () => {
  await useNodeBackend('wasm');
  hub = await startHubServer(0);
});
afterAll(async () => {
  await hub.close();
});
beforeEach(() => hub.counts.clear());

const WEIGHTS = '/fixtures/tiny-llama/resolve/main/model.safetensors';
const requests = (): number => [...hub.counts.values()].reduce((a, b) => a + b, 0);
const opts = (o: Partial<HubOptions> = {}): HubOptions => ({ baseUrl: hub.url, retryDelayMs: 5, ...o });

/** fetch that adds `?fail=N` to one file's URL, so the stand-in answers 503 to its first N requests. */
function failing(path: string, n: number): typeof fetch {
  return (input, init) => {
    const url = String(input);
    return fetch(url.endsWith(path) ? `${url}?fail=${n}` : url, init);
  };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof AppError)) throw new Error(`expected an AppError, got ${String(e)}`);
  return e;
}

describe('hub source', () => {
  it('loads a repo in the hub layout with byte-level progress, then a second load makes no request', async () => {
    const cache = new MemoryResponseCache();
    const progress: ByteProgress[] = [];
    const source = hubSource('fixtures/tiny-llama', opts({ cache }));
    const weights = await source.open('model.safetensors', { onProgress: (p) => progress.push(p) });
    expect(weights?.size).toBe(501088);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1].loaded)).toBe(true);
    expect(progress.at(-1)).toEqual({ file: 'model.safetensors', loaded: 501088, total: 501088, fromCache: false });

    hub.counts.clear();
    const model = await loadModel(hubSource('fixtures/tiny-llama', opts({ cache })));
    const first = requests();
    expect(first).toBeGreaterThanOrEqual(4); // config, generation_config (absent), tokenizer files, index (absent)…
    expect(hub.counts.get(WEIGHTS) ?? 0).toBe(0); // already cached above
    const ref = reference('tiny-llama');
    expect((await generate(model, ref.greedy_prompt, { maxTokens: 8, stopTokenIds: [] })).tokens).toEqual(ref.greedy_base);
    model.dispose();

    hub.counts.clear();
    const phases = new Set<string>();
    const again = await loadModel(hubSource('fixtures/tiny-llama', opts({ cache })), { onProgress: (p) => phases.add(p.phase) });
    expect(requests()).toBe(0); // absent optional files were remembered too
    expect(phases.has('cache')).toBe(true);
    expect(phases.has('download')).toBe(false);
    again.dispose();
  });

  it('retries 5xx answers with backoff and succeeds', async () => {
    const source = hubSource('fixtures/tiny-llama', opts({ fetch: failing('model.safetensors', 2) }));
    const file = await source.open('model.safetensors');
    expect(file?.size).toBe(501088);
    expect(hub.counts.get(WEIGHTS)).toBe(3);
  });

  it('gives up after the retries with a network error, caching nothing', async () => {
    const cache = new MemoryResponseCache();
    const source = hubSource('fixtures/tiny-llama', opts({ cache, retries: 2, fetch: failing('model.safetensors', 10) }));
    const e = await refusal(source.open('model.safetensors'));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/Could not download model.safetensors from the Hugging Face repo fixtures\/tiny-llama after 3 attempts \(503/);
    expect(hub.counts.get(WEIGHTS)).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('retries a body cut short, and a refused connection', async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed');
      const real = await fetch(input, init);
      if (calls === 2) {
        const bytes = new Uint8Array(await real.arrayBuffer());
        return new Response(bytes.slice(0, 1000), { headers: { 'content-length': String(bytes.byteLength) } });
      }
      return real;
    };
    const cache = new MemoryResponseCache();
    const file = await hubSource('fixtures/tiny-llama', opts({ cache, fetch: flaky })).open('model.safetensors');
    expect(calls).toBe(3);
    expect(file?.size).toBe(501088);
    expect((await cache.match(`${hub.url}${WEIGHTS}`))?.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('loads a PEFT adapter repo', async () => {
    const model = await loadModel(hubSource('fixtures/tiny-llama', opts()));
    const lora = await loadPeftAdapter(hubSource('fixtures/tiny-llama-adapter', opts()), model.config);
    const ref = reference('tiny-llama');
    expect((await generate(model, ref.greedy_prompt, { maxTokens: 8, stopTokenIds: [], linears: loraLinears(lora) })).tokens).toEqual(ref.greedy_adapted);
    disposeLora(lora);
    model.dispose();
  });

  it('loads from any folder URL (an embedded model), cached the same way', async () => {
    const cache = new MemoryResponseCache();
    const folder = `${hub.url}/fixtures/tiny-qwen2/resolve/main`;
    const model = await loadModel(urlFolderSource(folder, { cache, retryDelayMs: 5 }));
    expect(model.id).toBe(`url:${folder}/`);
    const ref = reference('tiny-qwen2');
    expect((await generate(model, ref.greedy_prompt, { maxTokens: 8, stopTokenIds: [] })).tokens).toEqual(ref.greedy_base);
    model.dispose();
    hub.counts.clear();
    (await loadModel(urlFolderSource(folder, { cache }))).dispose();
    expect(requests()).toBe(0);
    expect(() => urlFolderSource('/models/x/')).toThrow(/is not an absolute URL/);
    expect(() => urlFolderSource('file:///etc/')).toThrow(/is not an http\(s\) URL/);
    await expect(urlFolderSource(folder).open('../../secrets')).rejects.toThrow(/Bad file path/);
  });

  it('explains a missing repo, a bad repo id, a gated repo and an abort', async () => {
    let e = await refusal(loadModel(hubSource('nobody/nothing', opts())));
    expect(e.code).toBe('not-found');
    expect(e.message).toMatch(/the Hugging Face repo nobody\/nothing has no config.json/);
    expect(() => hubSource('../etc/passwd', opts())).toThrow(/is not a Hugging Face repo id/);
    const gated: typeof fetch = async () => new Response('no', { status: 401 });
    e = await refusal(hubSource('meta-llama/Llama-3.2-1B', opts({ fetch: gated })).open('config.json'));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/refused access to config.json \(401\).*gated or private/);
    const ctl = new AbortController();
    const before = tf.memory().numTensors;
    e = await refusal(
      loadModel(hubSource('fixtures/tiny-qwen2', opts()), {
        signal: ctl.signal,
        onProgress: (p) => p.phase === 'download' && p.text.includes('model.safetensors') && ctl.abort(),
      }),
    );
    expect(e.code).toBe('aborted');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a full storage quota fails the download with quota-exceeded and removes what this load had cached', async () => {
    /** A cache that holds at most `room` bytes, then answers as a full browser quota does. */
    class SmallCache extends MemoryResponseCache {
      used = 0;
      constructor(private readonly room: number) {
        super();
      }
      override async put(url: string, response: Response): Promise<void> {
        const body = await response.arrayBuffer();
        if (this.used + body.byteLength > this.room) throw new DOMException('Quota exceeded.', 'QuotaExceededError');
        this.used += body.byteLength;
        return super.put(url, new Response(body, { headers: response.headers }));
      }
    }
    const cache = new SmallCache(64 * 1024); // the configs and tokenizer fit, the 500 KB of weights do not
    const e = await refusal(loadModel(hubSource('fixtures/tiny-llama', opts({ cache }))));
    expect(e.code).toBe('quota-exceeded');
    expect(e.message).toMatch(/^Could not download model\.safetensors from the Hugging Face repo fixtures\/tiny-llama: this site's browser storage is full, so nothing from this action was saved\./);
    expect(cache.used).toBeGreaterThan(0); // config.json and the tokenizer had been cached…
    expect(cache.size).toBe(0); // …and were removed with the failed download
  });
});
