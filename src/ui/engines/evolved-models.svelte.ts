/**
 * Evolved web-llm models in this browser (src/core/engine/webllm/evolved.ts), as one shared state for the
 * Settings page and the Adapters tab: listed from the Cache API (so they survive a reload), renamed,
 * deleted, and made from a stored adapter by the evolve worker with progress. `evolvedLookup` lets a
 * web-llm engine load an evolved model by its id.
 */
import { AppError } from '../../core/errors.ts';
import { createWorkerClient } from '../../core/engine/protocol-client.ts';
import type { EvolveApi, EvolveParams, EvolveProgress } from '../../core/engine/webllm/evolve-api.ts';
import { spawnEvolveWorker } from '../../core/engine/webllm/evolve-spawn.ts';
import {
  deleteEvolvedModel,
  evolvedRecordRef,
  findEvolvedModel,
  listEvolvedModels,
  renameEvolvedModel,
  type EvolvedModel,
  type EvolvedRecordRef,
  type WritableCacheStorage,
} from '../../core/engine/webllm/evolved.ts';

function pageCaches(): WritableCacheStorage {
  const c = (globalThis as { caches?: CacheStorage }).caches;
  if (!c) throw new AppError('unsupported', 'This browser offers no Cache API here (a private window or an insecure page), so web-llm models cannot be stored.');
  return c;
}

/** For WebLlmEngine's `evolved` option. */
export async function evolvedLookup(webllmId: string): Promise<EvolvedRecordRef | null> {
  const c = (globalThis as { caches?: CacheStorage }).caches;
  if (!c) return null;
  const m = await findEvolvedModel(c, webllmId);
  return m ? evolvedRecordRef(m) : null;
}

class EvolvedModelsState {
  list = $state.raw<EvolvedModel[] | null>(null);
  error = $state.raw<AppError | null>(null);

  async refresh(): Promise<void> {
    try {
      this.list = await listEvolvedModels(pageCaches());
      this.error = null;
    } catch (e) {
      this.error = e instanceof AppError ? e : new AppError('internal', `Could not read the evolved models: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async rename(webllmId: string, name: string): Promise<void> {
    await renameEvolvedModel(pageCaches(), webllmId, name);
    await this.refresh();
  }

  async remove(webllmId: string): Promise<number> {
    const removed = await deleteEvolvedModel(pageCaches(), webllmId);
    await this.refresh();
    return removed;
  }

  /** Merges and registers in the evolve worker (which is stopped afterwards); the list is refreshed. */
  async create(params: EvolveParams, onProgress: (p: EvolveProgress) => void, signal?: AbortSignal): Promise<EvolvedModel> {
    const client = createWorkerClient<EvolveApi>(spawnEvolveWorker(), 'the merge worker');
    try {
      return await client.call('evolve', params, { onProgress, signal });
    } finally {
      client.close('The merge worker has finished.');
      await this.refresh();
    }
  }
}

let shared: EvolvedModelsState | null = null;

/** The one list of evolved models every view shares. */
export function evolvedModels(): EvolvedModelsState {
  shared ??= new EvolvedModelsState();
  return shared;
}
