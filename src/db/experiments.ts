/** Queries on experiments: list, create, rename, update, duplicate (with all rows), delete (with all rows). */
import { Dexie } from 'dexie';
import type { EngineKind } from '../core/engine/types.ts';
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { JsonObject } from './json.ts';
import { cleanName, copyName } from './names.ts';
import { readSnapshot, writeSnapshotAsNew } from './snapshot.ts';
import type { Experiment, ExperimentCounts } from './types.ts';

export interface NewExperiment {
  name: string;
  modelId?: string;
  engine?: EngineKind;
  settings?: JsonObject;
}

export async function createExperiment(db: StudioDb, init: NewExperiment, now = Date.now()): Promise<Experiment> {
  const experiment: Experiment = {
    id: newId(now),
    name: cleanName(init.name, 'experiment name'),
    modelId: init.modelId ?? '',
    engine: init.engine ?? 'tfjs',
    settings: init.settings ?? {},
    createdAt: now,
    updatedAt: now,
  };
  await writeTransaction(db, 'create the experiment', [db.experiments], () => db.experiments.add(experiment));
  return experiment;
}

/** Most recently changed first. */
export async function listExperiments(db: StudioDb): Promise<Experiment[]> {
  return db.experiments.orderBy('updatedAt').reverse().toArray();
}

export async function getExperiment(db: StudioDb, id: string): Promise<Experiment | undefined> {
  return db.experiments.get(id);
}

export async function requireExperiment(db: StudioDb, id: string): Promise<Experiment> {
  const e = await db.experiments.get(id);
  if (!e) throw new AppError('not-found', 'That experiment no longer exists (it may have been deleted in another tab).');
  return e;
}

export async function renameExperiment(db: StudioDb, id: string, name: string, now = Date.now()): Promise<void> {
  const clean = cleanName(name, 'experiment name');
  const n = await writeTransaction(db, 'rename the experiment', [db.experiments], () =>
    db.experiments.update(id, { name: clean, updatedAt: now }),
  );
  if (n === 0) await requireExperiment(db, id);
}

export type ExperimentPatch = Partial<Pick<Experiment, 'modelId' | 'engine' | 'settings'>>;

export async function updateExperiment(db: StudioDb, id: string, patch: ExperimentPatch, now = Date.now()): Promise<void> {
  const changes: Partial<Experiment> = { updatedAt: now };
  if (patch.modelId !== undefined) changes.modelId = patch.modelId.trim();
  if (patch.engine !== undefined) changes.engine = patch.engine;
  if (patch.settings !== undefined) changes.settings = patch.settings;
  const n = await writeTransaction(db, 'save the experiment', [db.experiments], () => db.experiments.update(id, changes));
  if (n === 0) await requireExperiment(db, id);
}

/** A new experiment with a copy of every row (fresh ids, references remapped), named "… (copy)". */
export async function duplicateExperiment(db: StudioDb, id: string, now = Date.now()): Promise<Experiment> {
  const snapshot = await readSnapshot(db, id);
  return writeSnapshotAsNew(db, snapshot, {
    action: 'duplicate the experiment',
    name: copyName(snapshot.experiment.name),
    createdAt: now,
    now,
  });
}

/** Deletes the experiment and every row that belongs to it, in one transaction. */
export async function deleteExperiment(db: StudioDb, id: string): Promise<void> {
  await db.transaction('rw', db.allTables, async () => {
    const trainingRunIds = await db.trainingRuns.where('experimentId').equals(id).primaryKeys();
    for (const runId of trainingRunIds) {
      await db.trainingMetrics
        .where('[trainingRunId+step]')
        .between([runId, Dexie.minKey], [runId, Dexie.maxKey])
        .delete();
    }
    await Promise.all([
      db.tasks.where('experimentId').equals(id).delete(),
      db.runs.where('experimentId').equals(id).delete(),
      db.steps.where('experimentId').equals(id).delete(),
      db.samples.where('experimentId').equals(id).delete(),
      db.trainingRuns.where('experimentId').equals(id).delete(),
      db.adapters.where('experimentId').equals(id).delete(),
    ]);
    await db.experiments.delete(id);
  });
}

export async function countExperimentRows(db: StudioDb, id: string): Promise<ExperimentCounts> {
  return db.transaction('r', [db.tasks, db.runs, db.steps, db.samples, db.trainingRuns, db.adapters], async () => {
    const [tasks, runs, steps, samples, trainingRuns, adapters] = await Promise.all([
      db.tasks.where('experimentId').equals(id).count(),
      db.runs.where('experimentId').equals(id).count(),
      db.steps.where('experimentId').equals(id).count(),
      db.samples.where('experimentId').equals(id).count(),
      db.trainingRuns.where('experimentId').equals(id).count(),
      db.adapters.where('experimentId').equals(id).count(),
    ]);
    return { tasks, runs, steps, samples, trainingRuns, adapters };
  });
}
