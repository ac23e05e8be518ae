/**
 * The database schema, one numbered version at a time. Never edit a shipped version: add a new one with its
 * upgrade function, and a test in tests/unit/db-upgrade.test.ts that opens a database written by the
 * previous version.
 *
 * Only what is queried is indexed (the first entry of each spec is the primary key):
 *   experiments.updatedAt          list, most recently changed first
 *   *.experimentId                 an experiment's rows (pages, counts, export, delete)
 *   runs.status, trainingRuns.status   find 'running' rows at start-up (interrupted-run sweep)
 *   steps.runId                    a run's steps, in creation order (ids are time-ordered)
 *   steps.[experimentId+taskId]    every attempt at one task (playground history)
 */
import type { Transaction } from 'dexie';
import type { TrainingMetricPoint, TrainingMetricRow } from './types.ts';

export const DB_NAME = 'self-refine-studio';

/** The newest version this code declares. */
export const SCHEMA_VERSION = 3;

/** v1: the first release. Training runs kept their loss curve inline as `metrics: TrainingMetricPoint[]`. */
export const STORES_V1 = {
  experiments: 'id, updatedAt',
  tasks: 'id, experimentId',
  runs: 'id, experimentId, status',
  steps: 'id, experimentId, runId, [experimentId+taskId]',
  samples: 'id, experimentId',
  trainingRuns: 'id, experimentId, status',
  adapters: 'id, experimentId',
  settings: 'key',
} as const;

/**
 * v2: the loss curve moves out of the training-run row into its own table, one row per logged step.
 * Why: training logs a point every step; with the series inline each point rewrote the whole (growing) row,
 * which is quadratic in the number of steps and makes every live query on training runs re-read the full
 * series. Now logging a point is one small put, and the list of runs stays small.
 */
export const STORES_V2 = {
  ...STORES_V1,
  trainingMetrics: '[trainingRunId+step]',
} as const;

/** The v1 shape of a training-run row (only what the upgrade reads). */
interface TrainingRunV1 {
  id: string;
  metrics?: unknown;
}

function isMetricPoint(p: unknown): p is TrainingMetricPoint {
  return typeof p === 'object' && p !== null && typeof (p as { step?: unknown }).step === 'number';
}

/** v1 → v2: copy each inline series into `trainingMetrics` and drop it from the run row. */
export async function upgradeToV2(tx: Transaction): Promise<void> {
  const rows: TrainingMetricRow[] = [];
  await tx
    .table('trainingRuns')
    .toCollection()
    .modify((run: TrainingRunV1) => {
      const series = Array.isArray(run.metrics) ? run.metrics : [];
      const byStep = new Map<number, TrainingMetricPoint>();
      for (const p of series) if (isMetricPoint(p)) byStep.set(p.step, p); // a repeated step keeps the last point
      for (const [step, point] of byStep) rows.push({ trainingRunId: run.id, step, point });
      delete run.metrics;
    });
  await tx.table('trainingMetrics').bulkPut(rows);
}

/**
 * v3: no store changes. The engine kind 'scripted' is gone (it named a test double, which the app never
 * builds); an experiment set to it in the Settings tab gets the default engine, tfjs.
 */
export const STORES_V3 = STORES_V2;

/** An experiment row as v3 reads it: the retired engine kind 'scripted' becomes 'tfjs' (rows and bundles of v2). */
export function withoutRetiredEngine<T>(row: T): T {
  const e = row as { engine?: unknown } | null;
  return typeof e === 'object' && e !== null && e.engine === 'scripted' ? { ...row, engine: 'tfjs' } : row;
}

/** v2 → v3: experiments whose engine is 'scripted' get 'tfjs'. */
export async function upgradeToV3(tx: Transaction): Promise<void> {
  await tx
    .table('experiments')
    .toCollection()
    .modify((e: { engine?: unknown }) => {
      e.engine = withoutRetiredEngine(e).engine;
    });
}
