/** Queries on training samples (SFT examples and preference pairs) and their include/exclude switch. */
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { Sample } from './types.ts';

export type NewSample = Omit<Sample, 'id' | 'experimentId' | 'createdAt' | 'included' | 'rejected' | 'feedback'> &
  Partial<Pick<Sample, 'included' | 'rejected' | 'feedback'>>;

/** Adds samples to an experiment in one transaction (all or none), in the given order. */
export async function addSamples(db: StudioDb, experimentId: string, samples: NewSample[], now = Date.now()): Promise<Sample[]> {
  const rows: Sample[] = samples.map((s) => ({
    id: newId(now),
    experimentId,
    prompt: s.prompt,
    chosen: s.chosen,
    rejected: s.rejected ?? null,
    feedback: s.feedback ?? null,
    provenance: s.provenance,
    included: s.included ?? true,
    format: s.format,
    createdAt: now,
  }));
  await writeTransaction(db, 'save the training samples', [db.experiments, db.samples], async () => {
    if (!(await db.experiments.get(experimentId))) {
      throw new AppError('not-found', 'Cannot save samples: the experiment no longer exists.');
    }
    await db.samples.bulkAdd(rows);
  });
  return rows;
}

/** An experiment's samples in the order they were made; `included` filters on the switch. */
export async function listSamples(db: StudioDb, experimentId: string, filter: { included?: boolean } = {}): Promise<Sample[]> {
  const rows = await db.samples.where('experimentId').equals(experimentId).toArray();
  return filter.included === undefined ? rows : rows.filter((s) => s.included === filter.included);
}

/** The user's manual override of the filter rule. */
export async function setSampleIncluded(db: StudioDb, id: string, included: boolean): Promise<void> {
  const n = await writeTransaction(db, 'save the sample', [db.samples], () => db.samples.update(id, { included }));
  if (n === 0) throw new AppError('not-found', 'That sample no longer exists.');
}

export async function deleteSamples(db: StudioDb, ids: string[]): Promise<void> {
  await db.samples.bulkDelete(ids);
}
