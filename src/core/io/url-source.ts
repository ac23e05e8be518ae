/**
 * Model files from a folder URL: `<folder>/<file>` (the Hugging Face hub's `…/resolve/<revision>/` is one such
 * folder; an app's embedded model at `/models/<name>/` is another). Byte-level progress, retries with backoff
 * on network errors and 5xx answers, and a ResponseCache so that a second load makes no request (absent
 * optional files are remembered too). A full storage quota fails the download with AppError('quota-exceeded')
 * and removes every file this source had cached, so no half-downloaded model is left in the cache.
 */
import { AppError, isQuotaExceeded, quotaExceeded } from '../errors.ts';
import { blobSource, type ByteSource } from './byte-source.ts';
import type { ByteProgress, ModelSource, OpenOptions } from './model-source.ts';
import type { ResponseCache } from './response-cache.ts';
import { RetryableError, withRetries } from './retry.ts';

export interface FetchOptions {
  /** Where downloaded files are kept; null = no caching. */
  cache?: ResponseCache | null;
  /** Extra attempts after the first (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled each retry (default 500). */
  retryDelayMs?: number;
  fetch?: typeof fetch;
}

export interface UrlFolderOptions extends FetchOptions {
  /** Identity for sharing a loaded model (default `url:<folder>`). */
  id?: string;
  /** For messages (default `the folder <url>`). */
  label?: string;
}

/** A cached marker meaning "the folder has no such file", so optional files cost no request the second time. */
const MISSING_HEADER = 'x-studio-missing';

export function urlFolderSource(folderUrl: string, options: UrlFolderOptions = {}): ModelSource {
  let folder: URL;
  try {
    folder = new URL(folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`);
  } catch {
    throw new AppError('bad-input', `"${folderUrl}" is not an absolute URL. Give the model folder's full address, e.g. https://example.org/models/my-model/.`);
  }
  if (folder.protocol !== 'https:' && folder.protocol !== 'http:') {
    throw new AppError('bad-input', `"${folderUrl}" is not an http(s) URL.`);
  }
  const cache = options.cache ?? null;
  // What this source put in the cache: a full quota removes it all, so no half-downloaded model stays behind.
  const kept = new Set<string>();
  async function keep(url: string, path: string, response: Response): Promise<void> {
    if (!cache) return;
    try {
      await cache.put(url, response);
    } catch (e) {
      if (!isQuotaExceeded(e)) throw e;
      await Promise.all([...kept, url].map((u) => cache.delete(u).catch(() => false)));
      kept.clear();
      throw quotaExceeded(`download ${path} from ${label}`, e);
    }
    kept.add(url);
  }
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const retries = options.retries ?? 4;
  const delayMs = options.retryDelayMs ?? 500;
  const label = options.label ?? `the folder ${folder.href}`;

  async function open(path: string, o: OpenOptions = {}): Promise<ByteSource | null> {
    if (path.split('/').some((s) => s === '..' || s === '' || s === '.')) throw new AppError('bad-input', `Bad file path "${path}".`);
    const url = new URL(path.split('/').map(encodeURIComponent).join('/'), folder).href;
    const report = (p: Omit<ByteProgress, 'file'>): void => o.onProgress?.({ file: path, ...p });

    const hit = cache ? await cache.match(url) : undefined;
    if (hit) {
      if (hit.headers.get(MISSING_HEADER)) return null;
      const blob = await hit.blob();
      report({ loaded: blob.size, total: blob.size, fromCache: true });
      return blobSource(path, blob);
    }

    const blob = await withRetries(
      async () => {
        const resp = await fetchImpl(url, { signal: o.signal });
        if (resp.status === 404) {
          await resp.body?.cancel();
          return null;
        }
        if (resp.status >= 500 || resp.status === 429) {
          await resp.body?.cancel();
          throw new RetryableError(`${resp.status} ${resp.statusText}`);
        }
        if (resp.status === 401 || resp.status === 403) {
          throw new AppError('network', `${label} refused access to ${path} (${resp.status}). The repo may be gated or private; pick a public model or download it and load the folder.`);
        }
        if (!resp.ok) throw new AppError('network', `${url} answered ${resp.status} ${resp.statusText}.`);
        const total = contentLength(resp);
        let loaded = 0;
        const counted = resp.body
          ? resp.body.pipeThrough(
              new TransformStream<Uint8Array, Uint8Array>({
                transform(chunk, ctl) {
                  loaded += chunk.byteLength;
                  report({ loaded, total, fromCache: false });
                  ctl.enqueue(chunk);
                },
              }),
            )
          : null;
        const type = resp.headers.get('content-type') ?? 'application/octet-stream';
        let body: Blob;
        if (cache) {
          // Stream straight into the cache, then read it back (a browser keeps it on disk, not in memory).
          await keep(url, path, new Response(counted, { headers: { 'content-type': type } }));
          const stored = await cache.match(url);
          if (!stored) throw new RetryableError('the cache did not keep the file');
          body = await stored.blob();
        } else {
          body = await new Response(counted).blob();
        }
        if (total !== null && body.size !== total) {
          await cache?.delete(url);
          throw new RetryableError(`received ${body.size} of ${total} bytes`);
        }
        if (!counted) report({ loaded: body.size, total: body.size, fromCache: false });
        return body;
      },
      { retries, delayMs, signal: o.signal },
      (e) =>
        `Could not download ${path} from ${label} after ${retries + 1} attempts (${e instanceof Error ? e.message : String(e)}). Check the connection and try again.`,
    );
    if (blob === null) {
      await keep(url, path, new Response('', { headers: { [MISSING_HEADER]: '1' } }));
      return null;
    }
    return blobSource(path, blob);
  }

  return { id: options.id ?? `url:${folder.href}`, label, open };
}

function contentLength(resp: Response): number | null {
  // A compressed transfer reports the compressed length; only trust it for identity encoding.
  if (resp.headers.get('content-encoding')) return null;
  const v = resp.headers.get('content-length') ?? resp.headers.get('x-linked-size');
  const n = v === null ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}
