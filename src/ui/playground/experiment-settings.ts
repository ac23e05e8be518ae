/**
 * Read-modify-write of an experiment's settings in one transaction: each feature rewrites only its own key
 * (`engines`, `refine`) on the stored value, so two quick saves of different keys never undo each other.
 */
import type { StudioDb } from '../../db/db.ts';
import { requireExperiment, updateExperiment, type ExperimentPatch } from '../../db/experiments.ts';
import type { JsonObject } from '../../db/types.ts';

export async function patchSettings(
  db: StudioDb,
  experimentId: string,
  change: (settings: JsonObject) => JsonObject,
  extra: Omit<ExperimentPatch, 'settings'> = {},
): Promise<void> {
  await db.transaction('rw', db.experiments, async () => {
    const current = await requireExperiment(db, experimentId);
    await updateExperiment(db, experimentId, { ...extra, settings: change(current.settings) });
  });
}
