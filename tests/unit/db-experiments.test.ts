import { describe, expect, it } from 'vitest';
import {
  countExperimentRows,
  createExperiment,
  deleteExperiment,
  duplicateExperiment,
  getExperiment,
  listExperiments,
  renameExperiment,
  requireExperiment,
  updateExperiment,
} from '../../src/db/experiments.ts';
import { readSnapshot } from '../../src/db/snapshot.ts';
import { AppError } from '../../src/core/errors.ts';
import { dump, freshDb, seedExperiment } from './db-helpers.ts';

describe('experiments', () => {
  it('creates with defaults and lists most recently changed first', async () => {
    const db = await freshDb();
    const a = await createExperiment(db, { name: '  First  ' }, 1000);
    const b = await createExperiment(db, { name: 'Second', modelId: 'tiny-qwen2', engine: 'webllm' }, 2000);
    expect(a).toMatchObject({ name: 'First', modelId: '', engine: 'tfjs', settings: {}, createdAt: 1000, updatedAt: 1000 });
    expect((await listExperiments(db)).map((e) => e.id)).toEqual([b.id, a.id]);
    await renameExperiment(db, a.id, 'First, renamed', 3000);
    expect((await listExperiments(db)).map((e) => e.name)).toEqual(['First, renamed', 'Second']);
    expect(await getExperiment(db, a.id)).toMatchObject({ createdAt: 1000, updatedAt: 3000 });
  });

  it('refuses empty, over-long and multi-line names with a bad-input error, and writes nothing', async () => {
    const db = await freshDb();
    const a = await createExperiment(db, { name: 'Keep me' });
    const before = await dump(db);
    for (const name of ['   ', 'x'.repeat(201), 'two\nlines']) {
      await expect(createExperiment(db, { name })).rejects.toMatchObject({ code: 'bad-input' });
      await expect(renameExperiment(db, a.id, name)).rejects.toMatchObject({ code: 'bad-input' });
    }
    expect(await dump(db)).toEqual(before);
  });

  it('keeps a hostile-looking name as plain text', async () => {
    const db = await freshDb();
    const name = '<img src=x onerror=alert(1)>';
    const e = await createExperiment(db, { name });
    expect((await requireExperiment(db, e.id)).name).toBe(name);
  });

  it('updates model, engine and settings; unknown ids give not-found', async () => {
    const db = await freshDb();
    const e = await createExperiment(db, { name: 'E' }, 10);
    await updateExperiment(db, e.id, { modelId: ' tiny-llama ', engine: 'webllm', settings: { temperature: 0.2 } }, 20);
    expect(await getExperiment(db, e.id)).toMatchObject({ modelId: 'tiny-llama', engine: 'webllm', settings: { temperature: 0.2 }, updatedAt: 20 });
    await expect(updateExperiment(db, 'nope', { modelId: 'x' })).rejects.toMatchObject({ code: 'not-found' });
    await expect(renameExperiment(db, 'nope', 'x')).rejects.toBeInstanceOf(AppError);
    await expect(requireExperiment(db, 'nope')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('counts every kind of row of one experiment only', async () => {
    const db = await freshDb();
    const seeded = await seedExperiment(db);
    const other = await createExperiment(db, { name: 'Empty' });
    expect(await countExperimentRows(db, seeded.id)).toEqual({ tasks: 3, runs: 2, steps: 3, samples: 2, trainingRuns: 1, adapters: 1 });
    expect(await countExperimentRows(db, other.id)).toEqual({ tasks: 0, runs: 0, steps: 0, samples: 0, trainingRuns: 0, adapters: 0 });
  });

  it('duplicates with every row copied under fresh ids and references remapped', async () => {
    const db = await freshDb();
    const original = await seedExperiment(db, 'Original');
    const copy = await duplicateExperiment(db, original.id, 5000);
    expect(copy.name).toBe('Original (copy)');
    expect(copy.createdAt).toBe(5000);
    const a = await readSnapshot(db, original.id);
    const b = await readSnapshot(db, copy.id);
    expect(await countExperimentRows(db, copy.id)).toEqual(await countExperimentRows(db, original.id));
    // No id is shared between the two experiments.
    const ids = (s: typeof a) => [s.experiment, ...s.tasks, ...s.runs, ...s.steps, ...s.samples, ...s.trainingRuns, ...s.adapters].map((r) => r.id);
    const shared = ids(a).filter((id) => ids(b).includes(id));
    expect(shared).toEqual([]);
    // References point inside the copy.
    const taskIds = new Set(b.tasks.map((t) => t.id));
    const runIds = new Set(b.runs.map((r) => r.id));
    for (const s of b.steps) {
      expect(taskIds.has(s.taskId)).toBe(true);
      expect(runIds.has(s.runId)).toBe(true);
    }
    expect(b.steps[2].adapterId).toBe(b.adapters[0].id);
    expect(b.samples[0].provenance.stepIds).toEqual(b.steps.map((s) => s.id));
    expect(b.trainingRuns[0].adapterId).toBe(b.adapters[0].id);
    expect(b.adapters[0].trainingRunId).toBe(b.trainingRuns[0].id);
    // Same content, same order.
    expect(b.steps.map((s) => s.text)).toEqual(a.steps.map((s) => s.text));
    expect(b.trainingRuns[0].metrics).toEqual(a.trainingRuns[0].metrics);
    expect(new Uint8Array(await b.adapters[0].weights.arrayBuffer())).toEqual(new Uint8Array(await a.adapters[0].weights.arrayBuffer()));
  });

  it('deletes an experiment with all its rows and leaves the others alone', async () => {
    const db = await freshDb();
    const keep = await seedExperiment(db, 'Keep');
    const keepRows = await dump(db);
    const gone = await seedExperiment(db, 'Gone');
    await deleteExperiment(db, gone.id);
    expect(await getExperiment(db, gone.id)).toBeUndefined();
    expect(await dump(db)).toEqual(keepRows);
    expect((await countExperimentRows(db, keep.id)).steps).toBe(3);
  });
});
