/** The task kinds an experiment holds, sorted (what token-budget hints and template editors list). */
import type { StudioDb } from '../../db/db.ts';
import { listTasks } from '../../db/tasks.ts';

export async function experimentKinds(db: StudioDb, experimentId: string): Promise<string[]> {
  return [...new Set((await listTasks(db, experimentId)).map((t) => t.kind))].sort();
}
