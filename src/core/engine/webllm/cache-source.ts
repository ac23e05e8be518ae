/**
 * A model web-llm downloaded, read back from its cache scopes as a ModelSource (mlc-chat-config.json from
 * `webllm/config`, everything else from `webllm/model`, keyed by the record's folder URL), so the tfjs
 * engine and the MLC merge read the very files web-llm runs, without any request. A file the cache lacks is
 * reported missing (null), never fetched.
 */
import { blobSource } from '../../io/byte-source.ts';
import type { ModelSource } from '../../io/model-source.ts';
import { CHAT_CONFIG_FILE } from '../../mlc/types.ts';
import { modelBaseUrl } from './cache.ts';

export interface ReadableCacheStorage {
  open(name: string): Promise<{ match(request: string): Promise<Response | undefined> }>;
}

/** `model` is the record's `model` URL (web-llm adds `resolve/main/` when it has no `resolve/…`). */
export function webllmCacheSource(caches: ReadableCacheStorage, model: string, label = `the cached web-llm model at ${model}`): ModelSource {
  const base = modelBaseUrl(model);
  return {
    id: `webllm-cache:${base}`,
    label,
    open: async (path) => {
      const cache = await caches.open(path === CHAT_CONFIG_FILE ? 'webllm/config' : 'webllm/model');
      const res = await cache.match(new URL(path, base).href);
      return res ? blobSource(path, await res.blob()) : null;
    },
  };
}
