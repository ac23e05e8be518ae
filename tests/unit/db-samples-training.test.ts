import { describe, expect, it } from 'vitest';
import { createExperiment } from '../../src/db/experiments.ts';
import { addSamples, deleteSamples, listSamples, setSampleIncluded } from '../../src/db/samples.ts';
import {
  appendTrainingMetrics,
  createTrainingRun,
  deleteTrainingRun,
  executeTrainingRun,
  finishTrainingRun,
  getTrainingMetrics,
  getTrainingRun,
  listTrainingRuns,
} from '../../src/db/training-runs.ts';
import { addAdapter, deleteAdapter, getAdapter, listAdapters, renameAdapter, setAdapterGguf } from '../../src/db/adapters.ts';
import { deleteSetting, getSetting, listSettings, setSetting } from '../../src/db/settings.ts';
import { getStorageInfo, requestPersistence, requestPersistenceOnce } from '../../src/db/storage.ts';
import { trainingRunLockName } from '../../src/db/locks.ts';
import { dump, FakeLocks, freshDb, LORA } from './db-helpers.ts';

const lora = () => ({ ...LORA, targetModules: [...LORA.targetModules] });

describe('samples', () => {
  it('adds in order, filters by the include switch, overrides it, deletes', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'E' });
    const rows = await addSamples(db, exp.id, [
      { prompt: [{ role: 'user', content: 'a' }], chosen: 'A', provenance: { stepIds: [], runId: null, round: 0 }, format: 'sft' },
      { prompt: [{ role: 'user', content: 'b' }], chosen: 'B', rejected: 'b', feedback: 'f', provenance: { stepIds: [], runId: null, round: 1 }, format: 'dpo', included: false },
    ]);
    expect(rows[0]).toMatchObject({ included: true, rejected: null, feedback: null });
    expect((await listSamples(db, exp.id)).map((s) => s.chosen)).toEqual(['A', 'B']);
    expect((await listSamples(db, exp.id, { included: true })).map((s) => s.chosen)).toEqual(['A']);
    await setSampleIncluded(db, rows[1].id, true);
    expect((await listSamples(db, exp.id, { included: false })).length).toBe(0);
    await expect(setSampleIncluded(db, 'missing', true)).rejects.toMatchObject({ code: 'not-found' });
    await deleteSamples(db, [rows[0].id]);
    expect((await listSamples(db, exp.id)).map((s) => s.chosen)).toEqual(['B']);
    await expect(
      addSamples(db, 'missing', [{ prompt: [], chosen: 'x', provenance: { stepIds: [], runId: null, round: 0 }, format: 'sft' }]),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('training runs and adapters', () => {
  it('logs the loss curve one row per step, ordered by step, replacing a re-logged step', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'E' });
    const run = await createTrainingRun(db, { experimentId: exp.id, config: { lr: 1e-3 } }, 5);
    await appendTrainingMetrics(db, run.id, [{ step: 10, loss: 1.5, lr: 1e-3, tokensPerSec: 50 }], 6);
    await appendTrainingMetrics(db, run.id, [
      { step: 2, loss: 2.5, lr: 1e-3, tokensPerSec: 40 },
      { step: 10, loss: 1.4, lr: 1e-3, tokensPerSec: 55, gradNorm: 0.9 },
    ], 7);
    expect(await getTrainingMetrics(db, run.id)).toEqual([
      { step: 2, loss: 2.5, lr: 1e-3, tokensPerSec: 40 },
      { step: 10, loss: 1.4, lr: 1e-3, tokensPerSec: 55, gradNorm: 0.9 },
    ]);
    expect((await getTrainingRun(db, run.id))?.updatedAt).toBe(7);
    await expect(appendTrainingMetrics(db, 'missing', [{ step: 0, loss: 1, lr: 1, tokensPerSec: 1 }])).rejects.toMatchObject({ code: 'not-found' });
    expect(await db.trainingMetrics.count()).toBe(2);
  });

  it('executeTrainingRun holds its lock, links the adapter it saves, and closes the run', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'E' });
    const locks = new FakeLocks();
    const adapter = await executeTrainingRun(db, locks, { experimentId: exp.id, config: { epochs: 1 } }, async (run) => {
      expect(locks.held.has(trainingRunLockName(run.id))).toBe(true);
      return addAdapter(db, {
        experimentId: exp.id,
        name: 'A1',
        baseModelId: 'tiny-llama',
        config: lora(),
        weights: new Blob([new Uint8Array([9, 9])]),
        trainingRunId: run.id,
      });
    });
    const [run] = await listTrainingRuns(db, exp.id);
    expect(run).toMatchObject({ status: 'done', adapterId: adapter.id });
    expect(adapter).toMatchObject({ gguf: null, trainingRunId: run.id });
    expect((await listAdapters(db, exp.id)).map((a) => a.name)).toEqual(['A1']);

    await renameAdapter(db, adapter.id, 'A1 renamed');
    await setAdapterGguf(db, adapter.id, new Blob([new Uint8Array([1])]));
    const stored = await getAdapter(db, adapter.id);
    expect(stored?.name).toBe('A1 renamed');
    expect(new Uint8Array(await stored!.weights.arrayBuffer())).toEqual(new Uint8Array([9, 9]));
    expect(stored?.gguf?.size).toBe(1);
    await expect(renameAdapter(db, adapter.id, '')).rejects.toMatchObject({ code: 'bad-input' });

    await deleteAdapter(db, adapter.id);
    expect(await getAdapter(db, adapter.id)).toBeUndefined();
    expect((await getTrainingRun(db, run.id))?.adapterId).toBeNull();
  });

  it('records a failed training run, and deletes a run with its curve while keeping its adapter', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'E' });
    const locks = new FakeLocks();
    await expect(
      executeTrainingRun(db, locks, { experimentId: exp.id, config: {} }, async () => {
        throw new Error('NaN loss');
      }),
    ).rejects.toThrow('NaN loss');
    expect((await listTrainingRuns(db, exp.id))[0]).toMatchObject({ status: 'failed', error: 'NaN loss' });

    const run = await createTrainingRun(db, { experimentId: exp.id, config: {} });
    await appendTrainingMetrics(db, run.id, [{ step: 0, loss: 1, lr: 1, tokensPerSec: 1 }]);
    const adapter = await addAdapter(db, { experimentId: exp.id, name: 'B', baseModelId: 'm', config: lora(), weights: new Blob([]), trainingRunId: run.id });
    await expect(deleteTrainingRun(db, run.id)).rejects.toMatchObject({ code: 'bad-input' });
    await finishTrainingRun(db, run.id, { status: 'done' });
    await deleteTrainingRun(db, run.id);
    expect(await getTrainingRun(db, run.id)).toBeUndefined();
    expect(await getTrainingMetrics(db, run.id)).toEqual([]);
    expect((await getAdapter(db, adapter.id))?.trainingRunId).toBeNull();
  });

  it('refuses an adapter whose training run belongs elsewhere, writing nothing', async () => {
    const db = await freshDb();
    const a = await createExperiment(db, { name: 'A' });
    const b = await createExperiment(db, { name: 'B' });
    const run = await createTrainingRun(db, { experimentId: b.id, config: {} });
    const before = await dump(db);
    await expect(
      addAdapter(db, { experimentId: a.id, name: 'X', baseModelId: 'm', config: lora(), weights: new Blob([]), trainingRunId: run.id }),
    ).rejects.toMatchObject({ code: 'not-found' });
    expect(await dump(db)).toEqual(before);
  });
});

describe('settings and storage', () => {
  it('stores JSON values by key', async () => {
    const db = await freshDb();
    expect(await getSetting(db, 'ui.theme', 'auto')).toBe('auto');
    await setSetting(db, 'ui.theme', 'dark');
    await setSetting(db, 'limits', { maxTokens: 256, stop: ['###'] });
    expect(await getSetting(db, 'ui.theme', 'auto')).toBe('dark');
    expect(await getSetting(db, 'limits', {})).toEqual({ maxTokens: 256, stop: ['###'] });
    expect((await listSettings(db)).map((s) => s.key).sort()).toEqual(['limits', 'ui.theme']);
    await deleteSetting(db, 'ui.theme');
    expect(await getSetting(db, 'ui.theme', 'auto')).toBe('auto');
  });

  it('asks for persistent storage once and remembers the answer; reports usage and quota', async () => {
    const db = await freshDb();
    let asked = 0;
    const storage = {
      persist: async () => (++asked, true),
      persisted: async () => asked > 0,
      estimate: async () => ({ usage: 1234, quota: 10_000 }),
    };
    expect(await getStorageInfo(db, storage)).toEqual({ usage: 1234, quota: 10_000, persisted: false, lastAnswer: null });
    expect(await requestPersistenceOnce(db, storage, 50)).toBe(true);
    expect(await requestPersistenceOnce(db, storage, 60)).toBe(true);
    expect(asked).toBe(1);
    expect(await getStorageInfo(db, storage)).toEqual({ usage: 1234, quota: 10_000, persisted: true, lastAnswer: { granted: true, askedAt: 50 } });
    await requestPersistence(db, { ...storage, persist: async () => (++asked, false) }, 70);
    expect((await getStorageInfo(db, storage)).lastAnswer).toEqual({ granted: false, askedAt: 70 });
    // A browser without the API.
    expect(await requestPersistenceOnce(await freshDb(), {})).toBeNull();
    expect(await getStorageInfo(db, {})).toMatchObject({ usage: null, quota: null, persisted: null });
  });
});
