/**
 * A full disk in the middle of a multi-row write: the browser aborts the transaction with a
 * QuotaExceededError (or the write call throws one). Every multi-row write is one transaction, so the
 * database must be exactly as before, and the error must be a typed, readable `quota-exceeded`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { exportBundle } from '../../src/db/bundle/export.ts';
import { importBundle } from '../../src/db/bundle/import.ts';
import { duplicateExperiment } from '../../src/db/experiments.ts';
import { addTasks } from '../../src/db/tasks.ts';
import { addSamples } from '../../src/db/samples.ts';
import { appendTrainingMetrics, createTrainingRun } from '../../src/db/training-runs.ts';
import { AppError } from '../../src/core/errors.ts';
import { dump, freshDb, seedExperiment } from './db-helpers.ts';

type Mode = 'abort' | 'throw';
let restore: (() => void) | null = null;

/**
 * From the (n+1)-th add/put on, fail: 'abort' aborts the transaction with QuotaExceededError the way
 * Chromium reports a full quota; 'throw' makes the call itself throw a QuotaExceededError DOMException.
 */
function failWritesAfter(n: number, mode: Mode): void {
  const proto = FakeObjectStore.prototype as unknown as Record<'add' | 'put', (...args: unknown[]) => IDBRequest>;
  const original = { add: proto.add, put: proto.put };
  let writes = 0;
  for (const method of ['add', 'put'] as const) {
    proto[method] = function (this: IDBObjectStore, ...args: unknown[]) {
      if (++writes <= n) return original[method].apply(this, args);
      if (mode === 'throw') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      const request = original[method].apply(this, args);
      // Like Chromium: the request is accepted, then the transaction is aborted before it can commit.
      const tx = this.transaction as unknown as { _abort(name: string): void; _state: string };
      queueMicrotask(() => {
        if (tx._state !== 'finished') tx._abort('QuotaExceededError');
      });
      return request;
    };
  }
  restore = () => Object.assign(proto, original);
}

afterEach(() => {
  restore?.();
  restore = null;
});

async function expectQuotaError(p: Promise<unknown>): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe('quota-exceeded');
  expect((e as AppError).message).toMatch(/storage is full, so nothing from this action was saved/);
  expect((e as AppError).message).toMatch(/Delete experiments/);
}

describe.each(['abort', 'throw'] as const)('quota exceeded mid-write (%s)', (mode) => {
  it('import: nothing of the experiment is written', async () => {
    const db = await freshDb();
    const exp = await seedExperiment(db);
    const { bytes } = await exportBundle(db, exp.id);
    const before = await dump(db);
    failWritesAfter(5, mode); // experiment, 3 tasks, a run … then the disk is full
    await expectQuotaError(importBundle(db, bytes));
    restore?.();
    expect(await dump(db)).toEqual(before);
  });

  it('duplicate: no partial copy is left', async () => {
    const db = await freshDb();
    const exp = await seedExperiment(db);
    const before = await dump(db);
    failWritesAfter(9, mode);
    await expectQuotaError(duplicateExperiment(db, exp.id));
    restore?.();
    expect(await dump(db)).toEqual(before);
  });

  it('adding many tasks, samples or metric points: all or none', async () => {
    const db = await freshDb();
    const exp = await seedExperiment(db);
    const training = await createTrainingRun(db, { experimentId: exp.id, config: {} });
    const before = await dump(db);
    failWritesAfter(2, mode);
    await expectQuotaError(addTasks(db, exp.id, [{ prompt: 'a' }, { prompt: 'b' }, { prompt: 'c' }, { prompt: 'd' }]));
    restore?.();
    failWritesAfter(1, mode);
    await expectQuotaError(
      addSamples(db, exp.id, [1, 2, 3].map((i) => ({ prompt: [], chosen: String(i), provenance: { stepIds: [], runId: null, round: 0 }, format: 'sft' }))),
    );
    restore?.();
    failWritesAfter(2, mode);
    await expectQuotaError(appendTrainingMetrics(db, training.id, [0, 1, 2, 3].map((step) => ({ step, loss: 1, lr: 1, tokensPerSec: 1 }))));
    restore?.();
    expect(await dump(db)).toEqual(before);
  });
});
