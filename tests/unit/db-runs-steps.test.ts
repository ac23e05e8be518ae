import { describe, expect, it } from 'vitest';
import { createExperiment } from '../../src/db/experiments.ts';
import { addTasks, deleteTask, getTask, listTasks, updateTask } from '../../src/db/tasks.ts';
import {
  appendRunMetric,
  createRun,
  deleteRun,
  executeRun,
  finishRun,
  getRun,
  listRuns,
  updateRunProgress,
} from '../../src/db/runs.ts';
import { addStep, countSteps, listSteps, listStepsForTask } from '../../src/db/steps.ts';
import { INTERRUPTED_MESSAGE, markInterruptedRuns, runLockName, TRAINING_INTERRUPTED_MESSAGE, trainingRunLockName } from '../../src/db/locks.ts';
import { createTrainingRun, getTrainingRun } from '../../src/db/training-runs.ts';
import { AppError } from '../../src/core/errors.ts';
import { dump, FakeLocks, freshDb, stepRecord } from './db-helpers.ts';

async function experimentWithTask() {
  const db = await freshDb();
  const exp = await createExperiment(db, { name: 'E' });
  const [task, evalTask] = await addTasks(db, exp.id, [{ prompt: 'p1' }, { prompt: 'p2', split: 'eval', reference: '2' }]);
  return { db, exp, task, evalTask };
}

describe('tasks', () => {
  it('adds in order with defaults, filters by split, updates', async () => {
    const { db, exp, task, evalTask } = await experimentWithTask();
    expect(task).toMatchObject({ taskSetId: 'custom', kind: 'open', reference: null, checker: null, split: 'train' });
    expect((await listTasks(db, exp.id)).map((t) => t.prompt)).toEqual(['p1', 'p2']);
    expect((await listTasks(db, exp.id, 'eval')).map((t) => t.id)).toEqual([evalTask.id]);
    await updateTask(db, task.id, { prompt: 'p1b', split: 'eval' });
    expect(await getTask(db, task.id)).toMatchObject({ prompt: 'p1b', split: 'eval' });
    await expect(updateTask(db, task.id, { prompt: ' ' })).rejects.toMatchObject({ code: 'bad-input' });
    await expect(updateTask(db, 'missing', { split: 'eval' })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('adds all or nothing', async () => {
    const { db, exp } = await experimentWithTask();
    const before = await dump(db);
    await expect(addTasks(db, exp.id, [{ prompt: 'ok' }, { prompt: '' }])).rejects.toMatchObject({ code: 'bad-input' });
    await expect(addTasks(db, 'no-such-experiment', [{ prompt: 'ok' }])).rejects.toMatchObject({ code: 'not-found' });
    expect(await dump(db)).toEqual(before);
  });

  it('refuses to delete a task that steps refer to', async () => {
    const { db, exp, task, evalTask } = await experimentWithTask();
    await executeRun(db, new FakeLocks(), { experimentId: exp.id, kind: 'refine' }, (run) => addStep(db, run.id, stepRecord(task.id)));
    await expect(deleteTask(db, task.id)).rejects.toMatchObject({ code: 'bad-input' });
    await deleteTask(db, evalTask.id);
    expect((await listTasks(db, exp.id)).map((t) => t.id)).toEqual([task.id]);
  });
});

describe('runs and steps', () => {
  it('executeRun holds the lock while running, then records done', async () => {
    const { db, exp, task } = await experimentWithTask();
    const locks = new FakeLocks();
    const result = await executeRun(db, locks, { experimentId: exp.id, kind: 'refine', config: { rounds: 2 } }, async (run) => {
      expect(locks.held.has(runLockName(run.id))).toBe(true);
      expect((await getRun(db, run.id))?.status).toBe('running');
      await addStep(db, run.id, stepRecord(task.id));
      await updateRunProgress(db, run.id, { done: 1, total: 2 });
      await appendRunMetric(db, run.id, { round: 1, accuracy: 0.5 });
      await appendRunMetric(db, run.id, { round: 0, accuracy: 0.25 });
      await appendRunMetric(db, run.id, { round: 1, accuracy: 0.75 });
      return run.id;
    });
    expect(locks.held.size).toBe(0);
    const run = await getRun(db, result);
    expect(run).toMatchObject({ status: 'done', error: null, config: { rounds: 2 }, progress: { done: 1, total: 2 } });
    expect(run?.finishedAt).toBeTypeOf('number');
    expect(run?.metrics).toEqual([{ round: 0, accuracy: 0.25 }, { round: 1, accuracy: 0.75 }]);
  });

  it('records failed (with the message) or aborted, and rethrows', async () => {
    const { db, exp } = await experimentWithTask();
    const locks = new FakeLocks();
    await expect(
      executeRun(db, locks, { experimentId: exp.id, kind: 'batch' }, async () => {
        throw new Error('out of memory');
      }),
    ).rejects.toThrow('out of memory');
    await expect(
      executeRun(db, locks, { experimentId: exp.id, kind: 'batch' }, async () => {
        throw new AppError('aborted', 'Stopped.');
      }),
    ).rejects.toMatchObject({ code: 'aborted' });
    const [aborted, failed] = await listRuns(db, exp.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'out of memory' });
    expect(aborted).toMatchObject({ status: 'aborted', error: null });
  });

  it('writes each step in its own transaction, in order, and only into a running run of the same experiment', async () => {
    const { db, exp, task, evalTask } = await experimentWithTask();
    const other = await createExperiment(db, { name: 'Other' });
    const [foreignTask] = await addTasks(db, other.id, [{ prompt: 'x' }]);
    const run = await createRun(db, { experimentId: exp.id, kind: 'refine' }, 100);
    const kinds = ['draft', 'feedback', 'refinement', 'feedback', 'refinement'] as const;
    for (const [i, kind] of kinds.entries()) {
      await addStep(db, run.id, stepRecord(i < 3 ? task.id : evalTask.id, { kind, refineRound: Math.floor(i / 2) }), 200 + i);
    }
    // A crash now: everything written so far is there.
    expect((await listSteps(db, run.id)).map((s) => s.kind)).toEqual(kinds);
    expect(await countSteps(db, run.id)).toBe(5);
    expect((await listStepsForTask(db, exp.id, task.id)).length).toBe(3);
    expect((await getRun(db, run.id))?.updatedAt).toBe(204);
    const step = (await listSteps(db, run.id))[0];
    expect(step).toMatchObject({ experimentId: exp.id, runId: run.id, ...stepRecord(task.id, { kind: 'draft', refineRound: 0 }) });

    await expect(addStep(db, run.id, stepRecord(foreignTask.id))).rejects.toMatchObject({ code: 'not-found' });
    await expect(addStep(db, 'missing-run', stepRecord(task.id))).rejects.toMatchObject({ code: 'not-found' });
    await finishRun(db, run.id, 'done');
    await expect(addStep(db, run.id, stepRecord(task.id))).rejects.toMatchObject({ code: 'bad-input' });
    expect(await countSteps(db, run.id)).toBe(5);
  });

  it('deletes a finished run with its steps, refuses a running one', async () => {
    const { db, exp, task } = await experimentWithTask();
    const run = await createRun(db, { experimentId: exp.id, kind: 'refine' });
    await addStep(db, run.id, stepRecord(task.id));
    await expect(deleteRun(db, run.id)).rejects.toMatchObject({ code: 'bad-input' });
    await finishRun(db, run.id, 'aborted');
    await deleteRun(db, run.id);
    expect(await getRun(db, run.id)).toBeUndefined();
    expect(await countSteps(db, run.id)).toBe(0);
  });

  it('refuses to start a run for a missing experiment', async () => {
    const { db } = await experimentWithTask();
    await expect(createRun(db, { experimentId: 'gone', kind: 'refine' })).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('interrupted runs', () => {
  it('marks running rows whose lock nobody holds as interrupted, keeps the ones a live tab holds', async () => {
    const { db, exp, task } = await experimentWithTask();
    const locks = new FakeLocks();
    // A run left 'running' by a tab that crashed (no lock), with two steps saved before the crash.
    const crashed = await createRun(db, { experimentId: exp.id, kind: 'self' }, 1);
    await addStep(db, crashed.id, stepRecord(task.id));
    await addStep(db, crashed.id, stepRecord(task.id, { kind: 'feedback' }));
    const crashedTraining = await createTrainingRun(db, { experimentId: exp.id, config: {} }, 1);
    // A run another tab is executing right now.
    let release!: () => void;
    const blocker = new Promise<void>((r) => (release = r));
    let liveId = '';
    const live = executeRun(db, locks, { experimentId: exp.id, kind: 'refine' }, async (run) => {
      liveId = run.id;
      await blocker;
    });
    while (!liveId) await new Promise((r) => setTimeout(r, 1));
    const liveTraining = await createTrainingRun(db, { experimentId: exp.id, config: {} }, 1);
    let releaseTraining!: () => void;
    const trainingHeld = locks.request(trainingRunLockName(liveTraining.id), () => new Promise<void>((r) => (releaseTraining = r)));
    while (!releaseTraining) await new Promise((r) => setTimeout(r, 1));

    const marked = await markInterruptedRuns(db, locks, 99);
    expect(marked.sort()).toEqual([crashed.id, crashedTraining.id].sort());
    expect(await getRun(db, crashed.id)).toMatchObject({ status: 'interrupted', updatedAt: 99, error: INTERRUPTED_MESSAGE });
    // A training run keeps only its checkpoint: its message claims nothing (the page names what is kept).
    expect(await getTrainingRun(db, crashedTraining.id)).toMatchObject({ status: 'interrupted', error: TRAINING_INTERRUPTED_MESSAGE });
    expect(await countSteps(db, crashed.id)).toBe(2);
    expect((await getRun(db, liveId))?.status).toBe('running');
    expect((await getTrainingRun(db, liveTraining.id))?.status).toBe('running');
    // A second sweep finds nothing new.
    expect(await markInterruptedRuns(db, locks)).toEqual([]);

    release();
    await live;
    releaseTraining();
    await trainingHeld;
    expect((await getRun(db, liveId))?.status).toBe('done');
  });
});
