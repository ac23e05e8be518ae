/**
 * An experiment with all its rows in memory: read in one transaction, written as a new experiment (fresh
 * ids, every typed reference remapped) in one transaction. Duplicate and bundle import both go through
 * `writeSnapshotAsNew`; bundle export starts from `readSnapshot`.
 */
import { Dexie } from 'dexie';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type {
  Adapter,
  Experiment,
  Run,
  Sample,
  Step,
  Task,
  TrainingMetricPoint,
  TrainingMetricRow,
  TrainingRun,
} from './types.ts';
import { AppError } from '../core/errors.ts';

export interface TrainingRunWithMetrics extends TrainingRun {
  /** The loss curve, ordered by step. */
  metrics: TrainingMetricPoint[];
}

export interface ExperimentSnapshot {
  experiment: Experiment;
  tasks: Task[];
  runs: Run[];
  steps: Step[];
  samples: Sample[];
  trainingRuns: TrainingRunWithMetrics[];
  adapters: Adapter[];
}

/** Reads an experiment and all its rows, each table in primary-key (= creation) order. */
export async function readSnapshot(db: StudioDb, experimentId: string): Promise<ExperimentSnapshot> {
  return db.transaction('r', db.allTables, async () => {
    const experiment = await db.experiments.get(experimentId);
    if (!experiment) {
      throw new AppError('not-found', 'That experiment no longer exists (it may have been deleted in another tab).');
    }
    const [tasks, runs, steps, samples, trainingRuns, adapters] = await Promise.all([
      db.tasks.where('experimentId').equals(experimentId).toArray(),
      db.runs.where('experimentId').equals(experimentId).toArray(),
      db.steps.where('experimentId').equals(experimentId).toArray(),
      db.samples.where('experimentId').equals(experimentId).toArray(),
      db.trainingRuns.where('experimentId').equals(experimentId).toArray(),
      db.adapters.where('experimentId').equals(experimentId).toArray(),
    ]);
    const withMetrics: TrainingRunWithMetrics[] = [];
    for (const run of trainingRuns) {
      const rows = await db.trainingMetrics
        .where('[trainingRunId+step]')
        .between([run.id, Dexie.minKey], [run.id, Dexie.maxKey])
        .toArray();
      withMetrics.push({ ...run, metrics: rows.map((r) => r.point) });
    }
    return { experiment, tasks, runs, steps, samples, trainingRuns: withMetrics, adapters };
  });
}

/**
 * Makes every reference point inside the snapshot: optional references to rows that are not in it become
 * null (provenance step ids are dropped), and steps whose run or task is gone are left out (they could not be
 * shown or imported). Pure; returns a new snapshot.
 */
export function dropDanglingReferences(s: ExperimentSnapshot): ExperimentSnapshot {
  const taskIds = new Set(s.tasks.map((t) => t.id));
  const runIds = new Set(s.runs.map((r) => r.id));
  const adapterIds = new Set(s.adapters.map((a) => a.id));
  const trainingRunIds = new Set(s.trainingRuns.map((r) => r.id));
  const steps = s.steps
    .filter((st) => runIds.has(st.runId) && taskIds.has(st.taskId))
    .map((st) => (st.adapterId !== null && !adapterIds.has(st.adapterId) ? { ...st, adapterId: null } : st));
  const stepIds = new Set(steps.map((st) => st.id));
  return {
    experiment: s.experiment,
    tasks: s.tasks,
    runs: s.runs,
    steps,
    samples: s.samples.map((sm) => ({
      ...sm,
      provenance: {
        ...sm.provenance,
        stepIds: sm.provenance.stepIds.filter((id) => stepIds.has(id)),
        runId: sm.provenance.runId !== null && runIds.has(sm.provenance.runId) ? sm.provenance.runId : null,
      },
    })),
    trainingRuns: s.trainingRuns.map((tr) =>
      tr.adapterId !== null && !adapterIds.has(tr.adapterId) ? { ...tr, adapterId: null } : tr,
    ),
    adapters: s.adapters.map((a) =>
      a.trainingRunId !== null && !trainingRunIds.has(a.trainingRunId) ? { ...a, trainingRunId: null } : a,
    ),
  };
}

export interface WriteSnapshotOptions {
  /** For error messages: "Could not <action>: …". */
  action: string;
  /** Name of the new experiment (default: the snapshot's). */
  name?: string;
  /** createdAt of the new experiment (default: the snapshot's). */
  createdAt?: number;
  /** updatedAt of the new experiment. */
  now: number;
}

const COPIED_WHILE_RUNNING = 'Copied while it was running; this copy stopped at its last saved step.';

/**
 * Writes the snapshot as a new experiment in ONE transaction: fresh ids assigned in row order (so the copy
 * keeps the original's order), references remapped, 'running' runs marked 'interrupted'. Nothing is written
 * if any part fails (a full quota included).
 */
export async function writeSnapshotAsNew(
  db: StudioDb,
  snapshot: ExperimentSnapshot,
  options: WriteSnapshotOptions,
): Promise<Experiment> {
  const s = dropDanglingReferences(snapshot);
  const experimentId = newId(options.now);
  const remap = (rows: { id: string }[]) => new Map(rows.map((r) => [r.id, newId(options.now)] as const));
  const taskIds = remap(s.tasks);
  const runIds = remap(s.runs);
  const stepIds = remap(s.steps);
  const sampleIds = remap(s.samples);
  const trainingRunIds = remap(s.trainingRuns);
  const adapterIds = remap(s.adapters);
  const must = (m: Map<string, string>, id: string) => {
    const v = m.get(id);
    if (v === undefined) throw new AppError('internal', `Reference ${id} has no row in the copy.`);
    return v;
  };
  const maybe = (m: Map<string, string>, id: string | null) => (id === null ? null : (m.get(id) ?? null));

  const experiment: Experiment = {
    ...s.experiment,
    id: experimentId,
    name: options.name ?? s.experiment.name,
    createdAt: options.createdAt ?? s.experiment.createdAt,
    updatedAt: options.now,
  };
  const tasks: Task[] = s.tasks.map((t) => ({ ...t, id: must(taskIds, t.id), experimentId }));
  const runs: Run[] = s.runs.map((r) => ({
    ...r,
    id: must(runIds, r.id),
    experimentId,
    ...(r.status === 'running' ? { status: 'interrupted' as const, error: COPIED_WHILE_RUNNING } : {}),
  }));
  const steps: Step[] = s.steps.map((st) => ({
    ...st,
    id: must(stepIds, st.id),
    experimentId,
    runId: must(runIds, st.runId),
    taskId: must(taskIds, st.taskId),
    adapterId: maybe(adapterIds, st.adapterId),
  }));
  const samples: Sample[] = s.samples.map((sm) => ({
    ...sm,
    id: must(sampleIds, sm.id),
    experimentId,
    provenance: {
      ...sm.provenance,
      stepIds: sm.provenance.stepIds.map((id) => must(stepIds, id)),
      runId: maybe(runIds, sm.provenance.runId),
    },
  }));
  const metricRows: TrainingMetricRow[] = [];
  const trainingRuns: TrainingRun[] = s.trainingRuns.map(({ metrics, ...tr }) => {
    const id = must(trainingRunIds, tr.id);
    for (const point of metrics) metricRows.push({ trainingRunId: id, step: point.step, point });
    return {
      ...tr,
      id,
      experimentId,
      adapterId: maybe(adapterIds, tr.adapterId),
      ...(tr.status === 'running' ? { status: 'interrupted' as const, error: COPIED_WHILE_RUNNING } : {}),
    };
  });
  const adapters: Adapter[] = s.adapters.map((a) => ({
    ...a,
    id: must(adapterIds, a.id),
    experimentId,
    trainingRunId: maybe(trainingRunIds, a.trainingRunId),
  }));

  await writeTransaction(db, options.action, db.allTables, async () => {
    await db.experiments.add(experiment);
    await db.tasks.bulkAdd(tasks);
    await db.runs.bulkAdd(runs);
    await db.steps.bulkAdd(steps);
    await db.samples.bulkAdd(samples);
    await db.trainingRuns.bulkAdd(trainingRuns);
    await db.trainingMetrics.bulkAdd(metricRows);
    await db.adapters.bulkAdd(adapters);
  });
  return experiment;
}
