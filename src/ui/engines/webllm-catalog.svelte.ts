/**
 * What web-llm can do in this browser: the GPU as its worker sees it and which catalog models are cached,
 * with deletion of cached files. Asked through a short-lived web-llm worker (nothing is loaded or fetched).
 */
import { AppError } from '../../core/errors.ts';
import type { GpuInfo } from '../../core/engine/gpu.ts';
import type { CachedModel } from '../../core/engine/webllm/api.ts';
import { WebLlmEngine } from '../../core/engine/webllm/engine.ts';
import { spawnWebLlmWorker } from '../../core/engine/webllm/spawn.ts';
import { webllmRows, type WebLlmRow } from './webllm-rows.ts';

export class WebLlmCatalogState {
  gpu = $state.raw<GpuInfo | null>(null);
  cached = $state.raw<CachedModel[] | null>(null);
  error = $state.raw<AppError | null>(null);
  checking = $state(false);
  rows = $derived<WebLlmRow[]>(webllmRows(this.gpu, this.cached));

  async #withEngine<T>(fn: (e: WebLlmEngine) => Promise<T>): Promise<T> {
    const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker });
    try {
      return await fn(engine);
    } finally {
      engine.dispose();
    }
  }

  /** Probes the GPU and lists the cache. Failures are kept in `error` (shown next to the list). */
  async refresh(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.#withEngine(async (e) => {
        this.gpu = await e.probe();
        this.cached = await e.listCached();
      });
      this.error = null;
    } catch (e) {
      this.error = e instanceof AppError ? e : new AppError('engine', `Could not ask the web-llm worker: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.checking = false;
    }
  }

  /** Deletes one variant's cached files; returns how many cache entries were removed. */
  async remove(webllmId: string): Promise<number> {
    const removed = await this.#withEngine((e) => e.deleteCached(webllmId));
    await this.refresh();
    return removed;
  }
}
