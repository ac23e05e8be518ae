/**
 * A ModelSourceSpec (plain data that crosses the worker boundary) → a ModelSource the loader reads from.
 * Downloads go through the host's cache (the browser's Cache API in the worker) so a second load makes no
 * request. `dir` sources are Node folders: only a host given `openDir` (Node) opens them.
 */
import { AppError } from '../../errors.ts';
import { filesSource } from '../../io/files-source.ts';
import { hubSource } from '../../io/hub-source.ts';
import type { ModelSource } from '../../io/model-source.ts';
import type { ResponseCache } from '../../io/response-cache.ts';
import { urlFolderSource } from '../../io/url-source.ts';
import { webllmCacheSource, type ReadableCacheStorage } from '../webllm/cache-source.ts';
import type { ModelSourceSpec } from './api.ts';

export interface SourceDeps {
  /** Where downloaded files are kept (browser: the Cache API); null = no caching. */
  cache?: () => Promise<ResponseCache | null>;
  /** Opens a folder on disk (Node only). */
  openDir?: (path: string) => Promise<ModelSource>;
  /** web-llm's Cache API scopes (the browser's `caches`), for `webllm-cache` sources. */
  webllmCaches?: () => ReadableCacheStorage | undefined;
}

export async function openModelSource(spec: ModelSourceSpec, deps: SourceDeps): Promise<ModelSource> {
  switch (spec.kind) {
    case 'hub':
      return hubSource(spec.repo, { baseUrl: spec.baseUrl, revision: spec.revision, cache: (await deps.cache?.()) ?? null });
    case 'url':
      return urlFolderSource(spec.url, { cache: (await deps.cache?.()) ?? null });
    case 'files':
      return filesSource(spec.files);
    case 'dir':
      if (!deps.openDir) {
        throw new AppError('unsupported', `"${spec.path}" is a folder on disk, which only the Node engine can open. In the browser, pick the folder or give a URL.`);
      }
      return deps.openDir(spec.path);
    case 'webllm-cache': {
      const caches = deps.webllmCaches?.();
      if (!caches) throw new AppError('unsupported', 'web-llm\'s cached models are in the browser\'s Cache API, which this engine cannot reach here.');
      return webllmCacheSource(caches, spec.model);
    }
    default:
      throw new AppError('bad-input', `Unknown model source "${String((spec as { kind?: unknown }).kind)}". Use hub, url, files, dir or webllm-cache.`);
  }
}

/** The name written as `base_model_name_or_path` in exported adapters. */
export function baseModelName(spec: ModelSourceSpec, modelId: string): string {
  return spec.kind === 'hub' ? spec.repo : modelId;
}
