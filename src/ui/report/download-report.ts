/** Saves a report (html-report.ts) as a download named for the experiment and the run's start. */
import type { StudioDb } from '../../db/db.ts';
import type { Run } from '../../db/types.ts';
import { downloadBytes } from '../lib/download.ts';

export async function experimentName(db: StudioDb, run: Run): Promise<string> {
  return (await db.experiments.get(run.experimentId))?.name ?? 'Experiment';
}

export function downloadReport(html: string, name: string, run: Run): void {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'experiment';
  const day = new Date(run.startedAt).toISOString().slice(0, 16).replace(/[:T]/g, '-');
  downloadBytes(new TextEncoder().encode(html), `${slug}-${run.kind}-${day}.html`, 'text/html');
}
