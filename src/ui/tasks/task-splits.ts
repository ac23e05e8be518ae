/** How many of an experiment's tasks are in each split: what SELF and SRT check before they start. */
import type { StudioDb } from '../../db/db.ts';
import { listTasks } from '../../db/tasks.ts';

export interface SplitCounts {
  train: number;
  eval: number;
}

export function countSplits(tasks: readonly { split: string }[]): SplitCounts {
  return { train: tasks.filter((t) => t.split === 'train').length, eval: tasks.filter((t) => t.split === 'eval').length };
}

export async function splitCounts(db: StudioDb, experimentId: string): Promise<SplitCounts> {
  return countSplits(await listTasks(db, experimentId));
}
