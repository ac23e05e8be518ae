import { describe, expect, it } from 'vitest';
import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { openStudioDb, type ConnectionLoss } from '../../src/db/db.ts';
import { SCHEMA_VERSION, STORES_V1, STORES_V2 } from '../../src/db/schema.ts';
import { getTrainingMetrics, listTrainingRuns } from '../../src/db/training-runs.ts';
import { listExperiments } from '../../src/db/experiments.ts';
import { listSteps } from '../../src/db/steps.ts';
import { countExperimentRows } from '../../src/db/experiments.ts';
import { stepRecord } from './db-helpers.ts';

const NAME = 'upgrade-test';

/** Writes a database exactly as the v1 code did: the v1 store spec, v1-shaped rows (metrics inline). */
async function writeV1Database(factory: IDBFactory): Promise<void> {
  const v1 = new Dexie(NAME, { indexedDB: factory, IDBKeyRange });
  v1.version(1).stores(STORES_V1);
  await v1.open();
  const exp = { id: 'e1', name: 'From v1', modelId: 'tiny-llama', engine: 'tfjs', settings: { temperature: 0.5 }, createdAt: 1, updatedAt: 2 };
  await v1.table('experiments').add(exp);
  await v1.table('tasks').add({ id: 't1', experimentId: 'e1', taskSetId: 'custom', kind: 'open', prompt: 'p', reference: null, checker: null, split: 'train', createdAt: 1 });
  await v1.table('runs').add({ id: 'r1', experimentId: 'e1', kind: 'refine', status: 'done', config: {}, progress: null, metrics: [], startedAt: 1, updatedAt: 2, finishedAt: 2, error: null });
  await v1.table('steps').add({ ...stepRecord('t1'), id: 's1', experimentId: 'e1', runId: 'r1' });
  await v1.table('trainingRuns').bulkAdd([
    {
      id: 'tr1', experimentId: 'e1', config: { lr: 0.001 }, status: 'done', startedAt: 1, updatedAt: 2, finishedAt: 2, adapterId: null, error: null,
      metrics: [
        { step: 0, loss: 3, lr: 0.001, tokensPerSec: 10 },
        { step: 2, loss: 2, lr: 0.001, tokensPerSec: 12 },
        { step: 1, loss: 2.6, lr: 0.001, tokensPerSec: 11 },
        { step: 2, loss: 1.9, lr: 0.001, tokensPerSec: 12 }, // logged twice: the later point wins
        'garbage',
      ],
    },
    { id: 'tr2', experimentId: 'e1', config: {}, status: 'failed', startedAt: 1, updatedAt: 2, finishedAt: 2, adapterId: null, error: 'x', metrics: [] },
    { id: 'tr3', experimentId: 'e1', config: {}, status: 'failed', startedAt: 1, updatedAt: 2, finishedAt: 2, adapterId: null, error: 'no series at all' },
  ]);
  await v1.table('settings').put({ key: 'storage.persistence', value: { granted: true, askedAt: 5 } });
  v1.close();
}

describe('schema upgrades', () => {
  it(`opens a v1 database with the current code (v${SCHEMA_VERSION}) and moves loss curves into trainingMetrics`, async () => {
    const factory = new IDBFactory();
    await writeV1Database(factory);
    const db = await openStudioDb({ name: NAME, deps: { indexedDB: factory, IDBKeyRange } });
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect(db.backendDB().version).toBe(SCHEMA_VERSION * 10);

    const runs = await db.trainingRuns.toArray();
    expect(runs.map((r) => r.id).sort()).toEqual(['tr1', 'tr2', 'tr3']);
    for (const r of runs) expect(Object.hasOwn(r, 'metrics')).toBe(false);
    expect(await getTrainingMetrics(db, 'tr1')).toEqual([
      { step: 0, loss: 3, lr: 0.001, tokensPerSec: 10 },
      { step: 1, loss: 2.6, lr: 0.001, tokensPerSec: 11 },
      { step: 2, loss: 1.9, lr: 0.001, tokensPerSec: 12 },
    ]);
    expect(await getTrainingMetrics(db, 'tr2')).toEqual([]);
    expect(await db.trainingMetrics.count()).toBe(3);
    expect((await listTrainingRuns(db, 'e1')).length).toBe(3);

    // Everything else is untouched and queryable through the current indexes.
    expect((await listExperiments(db)).map((e) => e.name)).toEqual(['From v1']);
    expect((await listSteps(db, 'r1')).map((s) => s.id)).toEqual(['s1']);
    expect(await countExperimentRows(db, 'e1')).toEqual({ tasks: 1, runs: 1, steps: 1, samples: 0, trainingRuns: 3, adapters: 0 });
    expect((await db.settings.get('storage.persistence'))?.value).toEqual({ granted: true, askedAt: 5 });
    db.close();

    // Opening again does not run the upgrade twice.
    const again = await openStudioDb({ name: NAME, deps: { indexedDB: factory, IDBKeyRange } });
    expect(await again.trainingMetrics.count()).toBe(3);
    again.close();
  });

  it('v2 → v3: an experiment set to the retired engine kind "scripted" gets the default engine, tfjs', async () => {
    const factory = new IDBFactory();
    const v2 = new Dexie(NAME, { indexedDB: factory, IDBKeyRange });
    v2.version(2).stores(STORES_V2);
    await v2.open();
    const exp = { modelId: 'toy-arith', settings: {}, createdAt: 1, updatedAt: 2 };
    await v2.table('experiments').bulkAdd([
      { ...exp, id: 'e1', name: 'Scripted', engine: 'scripted' },
      { ...exp, id: 'e2', name: 'Endpoint', engine: 'openai' },
    ]);
    v2.close();
    const db = await openStudioDb({ name: NAME, deps: { indexedDB: factory, IDBKeyRange } });
    expect(db.verno).toBe(3);
    expect(Object.fromEntries((await listExperiments(db)).map((e) => [e.name, e.engine]))).toEqual({ Scripted: 'tfjs', Endpoint: 'openai' });
    db.close();
  });

  it('refuses a database written by a newer schema, without changing it', async () => {
    const factory = new IDBFactory();
    await writeV1Database(factory);
    await new Promise<void>((resolve, reject) => {
      const req = factory.open(NAME, (SCHEMA_VERSION + 1) * 10);
      req.onupgradeneeded = () => req.result.createObjectStore('futureTable');
      req.onsuccess = () => (req.result.close(), resolve());
      req.onerror = () => reject(req.error);
    });
    await expect(openStudioDb({ name: NAME, deps: { indexedDB: factory, IDBKeyRange } })).rejects.toMatchObject({
      code: 'schema-newer',
      message: expect.stringContaining('Reload'),
    });
    const raw = new Dexie(NAME, { indexedDB: factory, IDBKeyRange });
    await raw.open(); // dynamic mode: whatever is there
    expect(raw.verno).toBe(SCHEMA_VERSION + 1);
    expect(await raw.table('experiments').count()).toBe(1);
    expect(raw.tables.map((t) => t.name)).toContain('futureTable');
    raw.close();
  });

  it('closes the connection and reports it when another tab opens a newer schema', async () => {
    const factory = new IDBFactory();
    const lost: ConnectionLoss[] = [];
    const db = await openStudioDb({ name: NAME, deps: { indexedDB: factory, IDBKeyRange }, onConnectionLost: (why) => lost.push(why) });
    await db.experiments.count();
    // "Another tab": a raw connection asking for a higher version. It only succeeds once we closed ours.
    await new Promise<void>((resolve, reject) => {
      const req = factory.open(NAME, 1000);
      req.onsuccess = () => (req.result.close(), resolve());
      req.onerror = () => reject(req.error);
    });
    expect(lost).toEqual(['upgraded-elsewhere']);
    expect(db.isOpen()).toBe(false);
    // It does not silently reopen with the old code.
    await expect(db.experiments.count()).rejects.toMatchObject({ name: 'DatabaseClosedError' });
  });
});
