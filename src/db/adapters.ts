/** Queries on trained LoRA adapters (PEFT safetensors bytes, optional GGUF export, stored as Blobs). */
import type { LoraConfig } from '../core/lora/types.ts';
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import { cleanName } from './names.ts';
import type { Adapter } from './types.ts';

export interface NewAdapter {
  /** The id to store it under (e.g. the id the tfjs engine already knows it by); default a new one. */
  id?: string;
  experimentId: string;
  name: string;
  baseModelId: string;
  config: LoraConfig;
  weights: Blob;
  gguf?: Blob | null;
  /** The training run that made it; that run's adapterId is set in the same transaction. */
  trainingRunId?: string | null;
}

export async function addAdapter(db: StudioDb, init: NewAdapter, now = Date.now()): Promise<Adapter> {
  const adapter: Adapter = {
    id: init.id ?? newId(now),
    experimentId: init.experimentId,
    name: cleanName(init.name, 'adapter name'),
    baseModelId: init.baseModelId,
    config: init.config,
    weights: init.weights,
    gguf: init.gguf ?? null,
    trainingRunId: init.trainingRunId ?? null,
    createdAt: now,
  };
  await writeTransaction(db, 'save the adapter', [db.experiments, db.trainingRuns, db.adapters], async () => {
      if (!(await db.experiments.get(adapter.experimentId))) {
        throw new AppError('not-found', 'Cannot save the adapter: its experiment no longer exists.');
      }
      if (adapter.trainingRunId !== null) {
        const run = await db.trainingRuns.get(adapter.trainingRunId);
        if (!run || run.experimentId !== adapter.experimentId) {
          throw new AppError('not-found', 'Cannot save the adapter: its training run is not part of this experiment.');
        }
        await db.trainingRuns.update(run.id, { adapterId: adapter.id, updatedAt: now });
      }
      await db.adapters.add(adapter);
  });
  return adapter;
}

export async function getAdapter(db: StudioDb, id: string): Promise<Adapter | undefined> {
  return db.adapters.get(id);
}

/** Oldest first (the order SELF rounds made them). */
export async function listAdapters(db: StudioDb, experimentId: string): Promise<Adapter[]> {
  return db.adapters.where('experimentId').equals(experimentId).toArray();
}

export async function renameAdapter(db: StudioDb, id: string, name: string): Promise<void> {
  const clean = cleanName(name, 'adapter name');
  const n = await writeTransaction(db, 'rename the adapter', [db.adapters], () => db.adapters.update(id, { name: clean }));
  if (n === 0) throw new AppError('not-found', 'That adapter no longer exists.');
}

/** Stores (or replaces) the GGUF export of an adapter. */
export async function setAdapterGguf(db: StudioDb, id: string, gguf: Blob | null): Promise<void> {
  const n = await writeTransaction(db, 'save the GGUF file', [db.adapters], () => db.adapters.update(id, { gguf }));
  if (n === 0) throw new AppError('not-found', 'That adapter no longer exists.');
}

/** Deletes the adapter; a training run that made it forgets it, in the same transaction. */
export async function deleteAdapter(db: StudioDb, id: string): Promise<void> {
  await db.transaction('rw', db.trainingRuns, db.adapters, async () => {
    const adapter = await db.adapters.get(id);
    if (!adapter) return;
    if (adapter.trainingRunId !== null) {
      const run = await db.trainingRuns.get(adapter.trainingRunId);
      if (run?.adapterId === id) await db.trainingRuns.update(run.id, { adapterId: null });
    }
    await db.adapters.delete(id);
  });
}
