/** Stored task rows as the core tasks the loop runs, in the order asked for (missing ids are left out). */
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import { fromTaskRow } from './task-rows.ts';

export async function loadCoreTasks(db: StudioDb, ids: readonly string[]): Promise<CoreTask[]> {
  const rows = await db.tasks.bulkGet([...ids]);
  return rows.filter((r) => r !== undefined).map(fromTaskRow);
}
