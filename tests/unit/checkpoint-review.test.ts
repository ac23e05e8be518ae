/**
 * Start-up review of training checkpoints: what each interrupted run's message says it keeps (or why nothing
 * can be resumed), and which checkpoint folders are removed (runs gone, finished, trained by SELF/SRT, samples
 * deleted) or kept (resumable, or still running in another tab).
 */
import { describe, expect, it } from 'vitest';
import { trainConfig } from '../../src/core/engine/tfjs/train-config.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { markInterruptedRuns, TRAINING_INTERRUPTED_MESSAGE } from '../../src/db/locks.ts';
import { appendTrainingMetrics, createTrainingRun, finishTrainingRun } from '../../src/db/training-runs.ts';
import type { StudioDb } from '../../src/db/db.ts';
import { interruptedTrainingMessage, resumability, reviewCheckpoints } from '../../src/ui/training/checkpoint-review.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { trainingConfigJson, type TrainingOrigin } from '../../src/ui/training/training-config.ts';
import { FakeLocks } from './db-helpers.ts';
import { uiDb } from './ui-self-fakes.ts';

const FILES = { 'adapter_model.safetensors': new Uint8Array(100).fill(1) };

async function trainingRun(db: StudioDb, experimentId: string, o: { origin?: TrainingOrigin; checkpointEvery?: number; checkpointSeconds?: number; sampleIds?: string[] | null } = {}) {
  const config = trainingConfigJson({
    method: 'sft',
    name: 'my adapter',
    baseModelId: 'toy-arith',
    fromAdapterId: null,
    adapterId: `a-${Math.random()}`,
    rowCount: 3,
    origin: o.origin ?? { kind: 'manual', runId: null },
    sampleIds: o.sampleIds === undefined ? null : o.sampleIds,
    train: trainConfig({ steps: 400, checkpointEvery: o.checkpointEvery ?? 50, checkpointSeconds: o.checkpointSeconds ?? 10 }),
  });
  return createTrainingRun(db, { experimentId, config }, 1);
}

describe('resumability and the interrupted message', () => {
  it('says exactly what a reload keeps, or why nothing can be resumed', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'e' });
    const run = { ...(await trainingRun(db, exp.id)), status: 'interrupted' as const };
    const at180 = { step: 180, totalSteps: 400, bytes: 100, savedAt: 1 };
    expect(resumability(run, at180)).toEqual({ ok: true, step: 180, totalSteps: 400 });
    expect(interruptedTrainingMessage(resumability(run, at180), 183)).toBe(
      `${TRAINING_INTERRUPTED_MESSAGE} It had reached step 183. It resumes from step 180 of 400 (its last checkpoint); the steps after that are trained again.`,
    );
    expect(interruptedTrainingMessage(resumability(run, null), 7)).toBe(
      `${TRAINING_INTERRUPTED_MESSAGE} It had reached step 7. Nothing can be resumed: it stopped before its first checkpoint was saved (due after step 50 or after 10 s of training).`,
    );
    const off = { ...(await trainingRun(db, exp.id, { checkpointEvery: 0, checkpointSeconds: 0 })), status: 'interrupted' as const };
    expect(resumability(off, null)).toEqual({ ok: false, reason: 'checkpoints were off for it (checkpoint every 0 steps and 0 seconds)' });
    const self = await trainingRun(db, exp.id, { origin: { kind: 'self', runId: 'r' } });
    expect(resumability(self, at180)).toMatchObject({ ok: false, reason: expect.stringContaining('the training of a SELF run') });
    expect(resumability(run, at180, 2)).toEqual({ ok: false, reason: '2 of the samples it trained on were deleted' });
    expect(resumability(undefined, at180)).toEqual({ ok: false, reason: 'its training run no longer exists' });
    expect(resumability({ ...run, status: 'done' }, at180)).toEqual({ ok: false, reason: 'it has finished' });
    expect(resumability({ ...run, config: {} }, at180)).toEqual({ ok: false, reason: 'its stored settings cannot be read' });
  });
});

describe('start-up review', () => {
  it('names what each interrupted run keeps, removes unusable folders, keeps resumable and running ones', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'e' });
    const store = new MemoryCheckpointStore();
    const resumable = await trainingRun(db, exp.id);
    await store.save(resumable.id, 20, FILES, 150);
    await appendTrainingMetrics(db, resumable.id, [21, 22, 23].map((step) => ({ step, loss: 1, lr: 0.1, tokensPerSec: 1 })));
    const early = await trainingRun(db, exp.id);
    const byself = await trainingRun(db, exp.id, { origin: { kind: 'self', runId: 'self-1' } });
    await store.save(byself.id, 5, FILES);
    const lostSamples = await trainingRun(db, exp.id, { sampleIds: ['gone-1', 'gone-2'] });
    await store.save(lostSamples.id, 5, FILES);
    const finished = await trainingRun(db, exp.id);
    await store.save(finished.id, 5, FILES);
    await finishTrainingRun(db, finished.id, { status: 'done' });
    await store.save('deleted-run', 5, FILES);
    // Running in another tab (its lock is held): its folder, even without a checkpoint yet, stays.
    const running = await trainingRun(db, exp.id);
    await store.save(running.id, 5, FILES);
    const locks = new FakeLocks();
    let release!: () => void;
    const held = locks.request(`training-run:${running.id}`, () => new Promise<void>((r) => (release = r)));
    while (!release) await new Promise((r) => setTimeout(r, 1));

    const marked = await markInterruptedRuns(db, locks);
    expect(marked.sort()).toEqual([resumable.id, early.id, byself.id, lostSamples.id].sort());
    const review = await reviewCheckpoints(db, store, marked);
    expect(review).toEqual({ removed: 4, freedBytes: 400, kept: 2, keptBytes: 200 });
    expect((await store.list()).map((f) => f.trainingRunId).sort()).toEqual([resumable.id, running.id].sort());
    const error = async (id: string) => (await db.trainingRuns.get(id))?.error;
    expect(await error(resumable.id)).toBe(`${TRAINING_INTERRUPTED_MESSAGE} It had reached step 23. It resumes from step 20 of 150 (its last checkpoint); the steps after that are trained again.`);
    expect(await error(early.id)).toContain('Nothing can be resumed: it stopped before its first checkpoint was saved');
    expect(await error(byself.id)).toContain('Nothing can be resumed: it is the training of a SELF run');
    expect(await error(lostSamples.id)).toContain('Nothing can be resumed: 2 of the samples it trained on were deleted');
    expect((await db.trainingRuns.get(running.id))?.status).toBe('running');
    release();
    await held;
  });
});
