/**
 * web-llm's browser cache, seen per model. web-llm (0.2.86, `cacheBackend: 'cache'`) keeps a model's files
 * in three Cache API scopes keyed by absolute URL: `webllm/model` (tensor-cache.json, weight shards,
 * tokenizer), `webllm/config` (mlc-chat-config.json) and `webllm/wasm` (the model library).
 *
 * Why not only web-llm's `deleteModelAllInfoInCache`: it reads tensor-cache.json through `fetchWithCache`,
 * so for a model that is not (fully) cached it downloads the manifest first — and fails offline. Counting
 * and sweeping entries by URL works for partial downloads and never touches the network.
 */

export const WEBLLM_CACHE_SCOPES = ['webllm/model', 'webllm/config', 'webllm/wasm'] as const;

/** The parts of the Cache API used here (`caches` in a page or worker). */
export interface CacheLike {
  keys(): Promise<readonly { url: string }[]>;
  delete(request: string): Promise<boolean>;
}

export interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
}

/** The folder URL web-llm fetches a model's files from: with a trailing slash and `resolve/<branch>/`. */
export function modelBaseUrl(model: string): string {
  const withSlash = model.endsWith('/') ? model : `${model}/`;
  return new URL(/\/resolve\/.+\//.test(withSlash) ? withSlash : `${withSlash}resolve/main/`).href;
}

export interface ModelUrls {
  model: string;
  modelLib: string;
}

function belongs(url: string, scope: string, base: string, lib: string): boolean {
  return scope === 'webllm/wasm' ? url === lib : url.startsWith(base);
}

/** Cache entries that belong to the model, across web-llm's scopes. */
export async function countModelEntries(caches: CacheStorageLike, urls: ModelUrls): Promise<number> {
  const base = modelBaseUrl(urls.model);
  let n = 0;
  for (const scope of WEBLLM_CACHE_SCOPES) {
    const cache = await caches.open(scope);
    for (const req of await cache.keys()) if (belongs(req.url, scope, base, urls.modelLib)) n++;
  }
  return n;
}

/** Deletes every cache entry of the model; returns how many were removed. */
export async function sweepModelEntries(caches: CacheStorageLike, urls: ModelUrls): Promise<number> {
  const base = modelBaseUrl(urls.model);
  let n = 0;
  for (const scope of WEBLLM_CACHE_SCOPES) {
    const cache = await caches.open(scope);
    for (const req of await cache.keys()) {
      if (belongs(req.url, scope, base, urls.modelLib) && (await cache.delete(req.url))) n++;
    }
  }
  return n;
}
