/**
 * Where downloaded model files are kept so that a second load makes no request. The interface is the part of
 * the browser Cache API we use, so `await caches.open(name)` satisfies it directly; Node (tests, CLI) uses the
 * in-memory implementation below.
 */
export interface ResponseCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean>;
}

/** The Cache API scope our model files live in. */
export const MODEL_CACHE_NAME = 'studio/models';

/** The browser's Cache API (page or worker), or null where there is none (Node, insecure origins). */
export async function openCacheApi(name = MODEL_CACHE_NAME): Promise<ResponseCache | null> {
  const c = (globalThis as { caches?: CacheStorage }).caches;
  if (!c) return null;
  try {
    return await c.open(name);
  } catch {
    return null; // e.g. storage disabled in a private window: load without caching
  }
}

/** Keeps bodies in memory. For Node and tests. */
export class MemoryResponseCache implements ResponseCache {
  private readonly entries = new Map<string, { body: ArrayBuffer; headers: [string, string][] }>();

  async match(url: string): Promise<Response | undefined> {
    const e = this.entries.get(url);
    return e ? new Response(e.body.slice(0), { headers: e.headers }) : undefined;
  }

  async put(url: string, response: Response): Promise<void> {
    const body = await response.arrayBuffer();
    this.entries.set(url, { body, headers: [...response.headers.entries()] });
  }

  async delete(url: string): Promise<boolean> {
    return this.entries.delete(url);
  }

  get size(): number {
    return this.entries.size;
  }
}
