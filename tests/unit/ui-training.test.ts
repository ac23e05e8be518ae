import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/core/engine/tfjs/train-config.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../../src/core/toy/self-train.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { getTrainingMetrics } from '../../src/db/training-runs.ts';
import { chartGeometry, niceTicks, thinPoints } from '../../src/ui/components/line-chart.ts';
import type { CheckpointReport } from '../../src/ui/training/checkpoint-saver.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { MetricWriter } from '../../src/ui/training/metric-writer.ts';
import { StoredTrainer } from '../../src/ui/training/stored-trainer.ts';
import { configJson, configToForm, defaultTrainForm, formToConfig, parseConfigJson, parseLayers, toyTrainForm, trainFormFor } from '../../src/ui/training/train-form.ts';
import { parseTrainingConfig } from '../../src/ui/training/training-config.ts';
import { defaultTrainingSettings, readTrainingSettings, writeTrainingSettings } from '../../src/ui/training/training-settings.ts';
import { EMPTY_TRAIN_LIVE, nextTrainLive, withCheckpointReport } from '../../src/ui/training/training-live.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, uiDb } from './ui-self-fakes.ts';

const ROWS = [0, 1, 2, 3, 4, 5].map((i) => ({ messages: [{ role: 'user' as const, content: `q${i}` }, { role: 'assistant' as const, content: `a${i}` }] }));

function badField(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('bad-input');
    return (e as AppError).message;
  }
  throw new Error('expected an error');
}

describe('training form', () => {
  it('defaults are valid trainer configs; the toy defaults are the settings of the toy SELF experiment', () => {
    expect(formToConfig(defaultTrainForm())).toEqual({ ...DEFAULT_TRAIN_CONFIG, checkpointEvery: 50, checkpointSeconds: 10, groupByLength: true });
    expect(formToConfig(toyTrainForm(3))).toEqual(toySelfTrainConfig(TOY_SELF_TRAIN, 3));
    // The Training tab checkpoints by default (every 50 steps or 10 s of training); SELF rounds do not.
    expect(trainFormFor('toy-arith')).toEqual({ ...toyTrainForm(), checkpointEvery: 50, checkpointSeconds: 10 });
    expect(trainFormFor('HuggingFaceTB/SmolLM2-135M-Instruct')).toEqual(defaultTrainForm());
  });

  it('names the first bad field before anything trains', () => {
    const f = defaultTrainForm();
    expect(badField(() => formToConfig({ ...f, r: 0 }))).toMatch(/"LoRA rank r".*1 to 256, got 0/);
    expect(badField(() => formToConfig({ ...f, alpha: 1.5 }))).toMatch(/"LoRA alpha".*integer/);
    expect(badField(() => formToConfig({ ...f, dropout: 1 }))).toMatch(/"LoRA dropout"/);
    expect(badField(() => formToConfig({ ...f, targetModules: [] }))).toMatch(/"target modules": tick at least one/);
    expect(badField(() => formToConfig({ ...f, lr: Number.NaN }))).toMatch(/"learning rate": enter a number/);
    expect(badField(() => formToConfig({ ...f, layers: '0, x' }))).toMatch(/"layers": "x" is not a layer number/);
    expect(badField(() => formToConfig({ ...f, layers: '0, 5' }, 4))).toMatch(/layers 0 to 3, not 5/);
    expect(badField(() => formToConfig({ ...f, length: 'steps', steps: 0 }))).toMatch(/steps/);
    expect(badField(() => formToConfig({ ...f, batchSize: 1000 }))).toMatch(/"batch size": at most 256/);
  });

  it('layers: a list, deduplicated and sorted; empty = all', () => {
    expect(parseLayers('')).toBeNull();
    expect(parseLayers(' 3, 1,1 0 ')).toEqual([0, 1, 3]);
  });

  it('stored settings: read back as written; what cannot be used falls back to the defaults and says why', () => {
    const d = defaultTrainingSettings(null);
    const s = { ...d, method: 'dpo' as const, name: 'Mine', fromAdapterId: 'a1', form: { ...d.form, r: 4 } };
    expect(readTrainingSettings(writeTrainingSettings({}, s), null)).toEqual({ value: s, problem: null });
    expect(readTrainingSettings({}, null)).toEqual({ value: d, problem: null });
    const badForm = readTrainingSettings({ training: { ...s, form: { ...s.form, r: 0 } } }, null);
    expect(badForm.value).toEqual(d);
    expect(badForm.problem).toMatch(/^The stored training settings could not be used \(.*"LoRA rank r".*\); showing the defaults\.$/);
    const badFields = readTrainingSettings({ training: { ...s, method: 'ppo', name: ' ' } }, null);
    expect(badFields.value).toEqual({ ...s, method: 'sft', name: d.name });
    expect(badFields.problem).toBe('Some stored training settings could not be used (unknown method "ppo"; the adapter name is empty); showing the defaults for them.');
    expect(readTrainingSettings({ training: 3 }, null)).toEqual({ value: d, problem: 'The stored training settings could not be used (they are not an object); showing the defaults.' });
  });

  it('round-trips through JSON (run rows) and the form', () => {
    const c = formToConfig({ ...toyTrainForm(), layers: '1', length: 'steps', steps: 7, rslora: true });
    expect(parseConfigJson(JSON.parse(JSON.stringify(configJson(c))))).toEqual(c);
    expect(formToConfig(configToForm(c))).toEqual(c);
    expect(() => parseConfigJson({ lr: 1 })).toThrow(AppError);
  });
});

describe('line chart geometry', () => {
  it('round ticks, one path per series, single points as dots', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.5, 1]);
    expect(niceTicks(0, 10)).toEqual([0, 5, 10]);
    expect(niceTicks(0.1, 2.3)).toEqual([1, 2]);
    expect(niceTicks(0, 0.8)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(3, 3)).toEqual([3]);
    const box = { width: 110, height: 60, padLeft: 10, padBottom: 10, padTop: 0, padRight: 0 };
    const g = chartGeometry([{ label: 'a', points: [{ x: 0, y: 0 }, { x: 10, y: 1 }] }, { label: 'b', points: [{ x: 5, y: 0.5 }] }, { label: 'c', points: [] }], box, [0, 1]);
    expect(g.paths).toEqual(['M10 50 L110 0', 'M60 25', '']);
    expect(g.dots).toEqual([{ series: 1, cx: 60, cy: 25 }]);
    expect(g.yTicks).toEqual([{ value: 0, px: 50 }, { value: 0.5, px: 25 }, { value: 1, px: 0 }]);
    expect(thinPoints([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4)).toEqual([1, 4, 7, 10]);
  });

  it('a whole-number axis (rounds, steps) ticks whole numbers only, and one point sits on its own value', () => {
    const box = { width: 110, height: 60, padLeft: 10, padBottom: 10, padTop: 0, padRight: 0 };
    const xs = (points: { x: number; y: number }[]) => chartGeometry([{ label: 'a', points }], box, [0, 1], true).xTicks.map((t) => t.value);
    expect(xs([{ x: 0, y: 0.5 }])).toEqual([0]);
    expect(xs([{ x: 0, y: 0.5 }, { x: 1, y: 0.9 }])).toEqual([0, 1]);
    expect(xs([{ x: 0, y: 0.5 }, { x: 1, y: 0.9 }, { x: 2, y: 0.9 }])).toEqual([0, 1, 2]);
    expect(xs([{ x: 1, y: 0.5 }, { x: 300, y: 0.9 }])).toEqual([100, 200, 300]);
    const one = chartGeometry([{ label: 'a', points: [{ x: 0, y: 0.5 }] }], box, [0, 1], true);
    expect([one.xMin, one.xMax, one.dots[0].cx]).toEqual([-0.5, 0.5, 60]);
    expect(niceTicks(0, 2, 4, true)).toEqual([0, 1, 2]);
  });
});

describe('live training view', () => {
  it('follows the trainer: data summary, steps (loss curve, ETA), checkpoints once saved, pause', () => {
    const ids = { trainingRunId: 't', adapterId: 'a' };
    let v = nextTrainLive(EMPTY_TRAIN_LIVE, { kind: 'prepared', examples: 6, truncated: 1, dropped: 0, totalSteps: 4 }, ids);
    v = nextTrainLive(v, { kind: 'step', step: 1, totalSteps: 4, loss: 2, lr: 0.1, gradNorm: 1, tokensPerSec: 50, memoryBytes: 10, elapsedMs: 1000 }, ids);
    v = nextTrainLive(v, { kind: 'checkpoint', step: 1, files: {} }, ids);
    // Offered by the trainer is not saved: the last checkpoint shown is one a reload can resume from.
    expect(v.lastCheckpoint).toBeNull();
    v = withCheckpointReport(v, { kind: 'saved', step: 1, bytes: 10 });
    v = nextTrainLive(v, { kind: 'status', status: 'paused' }, ids);
    expect(v).toMatchObject({ trainingRunId: 't', status: 'paused', step: 1, totalSteps: 4, loss: 2, examples: 6, truncated: 1, lastCheckpoint: 1, etaMs: 3000 });
    expect(v.points).toEqual([{ x: 1, y: 2 }]);
    // A failed save keeps the last good checkpoint and says why; a later good one clears the failure.
    const quota = new AppError('quota-exceeded', 'The checkpoint at step 3 could not be saved: full.');
    v = withCheckpointReport(v, { kind: 'failed', step: 3, error: quota, lastGood: 1 });
    expect(v).toMatchObject({ lastCheckpoint: 1, failedSaves: 1, checkpointFailure: { step: 3, quota: true, message: quota.message } });
    v = withCheckpointReport(v, { kind: 'saved', step: 4, bytes: 10 });
    expect(v).toMatchObject({ lastCheckpoint: 4, failedSaves: 1, checkpointFailure: null });
  });
});

describe('metric writer', () => {
  it('writes in batches, at once on writeNow, everything on flush; a failed write is reported', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'm' });
    const run = { id: 'tr1', experimentId: exp.id, config: {}, status: 'running' as const, startedAt: 1, updatedAt: 1, finishedAt: null, adapterId: null, error: null };
    await db.trainingRuns.add(run);
    const w = new MetricWriter(db, 'tr1', { maxPoints: 3, maxDelayMs: 1e9 });
    const p = (step: number) => ({ step, loss: 1 / step, lr: 0.1, tokensPerSec: 5 });
    w.push(p(1));
    w.push(p(2));
    await new Promise((r) => setTimeout(r, 20));
    expect(await getTrainingMetrics(db, 'tr1')).toEqual([]);
    w.push(p(3));
    w.push(p(4));
    w.writeNow();
    await w.flush();
    expect((await getTrainingMetrics(db, 'tr1')).map((x) => x.step)).toEqual([1, 2, 3, 4]);
    const broken = new MetricWriter(db, 'missing-run', { maxPoints: 1 });
    broken.push(p(1));
    await expect(broken.flush()).rejects.toThrow(/training run no longer exists/);
  });
});

/** Memory checkpoints that remember which steps were saved. */
class CountingStore extends MemoryCheckpointStore {
  readonly saved: number[] = [];
  override async save(id: string, step: number, files: Record<string, Uint8Array>, totalSteps?: number | null) {
    this.saved.push(step);
    return super.save(id, step, files, totalSteps);
  }
}

describe('stored trainer', () => {
  async function setup(opts: ConstructorParameters<typeof FakeTfjsEngine>[1] = {}) {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'train' });
    const engine = new FakeTfjsEngine(() => '', opts);
    await engine.load('tiny');
    const checkpoints = new CountingStore();
    const trainer = new StoredTrainer({ db, locks: new FakeLocks(), checkpoints, experimentId: exp.id, engine, origin: { kind: 'manual', runId: null } });
    return { db, exp, engine, trainer, checkpoints, saved: checkpoints.saved };
  }
  const config = formToConfig({ ...defaultTrainForm(), length: 'steps', steps: 10, checkpointEvery: 3, lr: 0.05 });

  it('stores the run, its whole loss curve, checkpoints while it runs, and the adapter under the engine id', async () => {
    const { db, exp, engine, trainer, checkpoints, saved } = await setup();
    const out = await trainer.train({ method: 'sft', rows: ROWS, fromAdapterId: null, config, label: 'first', sampleIds: ['s1', 's2'] });
    const [run] = await db.trainingRuns.toArray();
    const c = parseTrainingConfig(run.config);
    expect(run).toMatchObject({ experimentId: exp.id, status: 'done', adapterId: out.adapterId });
    expect(c).toMatchObject({ method: 'sft', name: 'first', baseModelId: 'tiny', adapterId: out.adapterId, rowCount: 6, sampleIds: ['s1', 's2'], origin: { kind: 'manual', runId: null } });
    expect(c.train).toEqual(config);
    expect((await getTrainingMetrics(db, run.id)).map((m) => [m.step, m.loss])).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, 1 / (i + 1)]));
    expect(saved).toEqual([3, 6, 9]);
    expect(await checkpoints.load(run.id)).toBeNull();
    const [adapter] = await db.adapters.toArray();
    expect(adapter).toMatchObject({ id: out.adapterId, name: 'first', baseModelId: 'tiny', trainingRunId: run.id, config: { r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] } });
    expect(await adapter.gguf!.text()).toBe(`GGUF:${out.adapterId}`);
    expect(engine.trainCalls[0]).toMatchObject({ adapterId: out.adapterId, fromAdapterId: null, gguf: true });
    expect(out.metrics).toMatchObject({ steps: 10, finalLoss: 0.1 });
  });

  it('a stopped run is stored as aborted, without an adapter; resume continues from its last checkpoint on the same rows', async () => {
    const stop = new AbortController();
    const { db, engine, trainer } = await setup({ beforeStep: (step) => void (step === 8 && stop.abort()) });
    await expect(trainer.train({ method: 'sft', rows: ROWS, fromAdapterId: null, config, label: 'resumable', signal: stop.signal, sampleIds: ['x'] })).rejects.toMatchObject({ code: 'aborted' });
    const [aborted] = await db.trainingRuns.toArray();
    expect(aborted.status).toBe('aborted');
    expect(await db.adapters.count()).toBe(0);
    expect((await getTrainingMetrics(db, aborted.id)).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const out = await trainer.resume(aborted.id, async (c) => {
      expect(c.sampleIds).toEqual(['x']);
      return ROWS;
    });
    expect(engine.trainCalls[1].resume).toEqual({ 'step.txt': new TextEncoder().encode('6') });
    expect(engine.trainCalls[1].adapterId).toBe(engine.trainCalls[0].adapterId);
    const [done] = await db.trainingRuns.toArray();
    expect(done).toMatchObject({ id: aborted.id, status: 'done', adapterId: out.adapterId, error: null });
    expect((await getTrainingMetrics(db, done.id)).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(trainer.resume(done.id, async () => ROWS)).rejects.toThrow(/has finished/);
  });

  it('a failed checkpoint save is reported, the previous good one kept, and training goes on to the end', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'train' });
    const engine = new FakeTfjsEngine(() => '');
    await engine.load('tiny');
    const store = new (class extends MemoryCheckpointStore {
      override async save(id: string, step: number, files: Record<string, Uint8Array>, totalSteps?: number | null) {
        if (step === 6) throw new DOMException('full', 'QuotaExceededError');
        return super.save(id, step, files, totalSteps);
      }
    })();
    const reports: CheckpointReport[] = [];
    let atFailure: number | null | undefined;
    const trainer = new StoredTrainer({
      db,
      locks: new FakeLocks(),
      checkpoints: store,
      experimentId: exp.id,
      engine,
      origin: { kind: 'manual', runId: null },
      onCheckpoint: (id, r) => {
        reports.push(r);
        if (r.kind === 'failed') void store.latest(id).then((c) => (atFailure = c?.step));
      },
    });
    await trainer.train({ method: 'sft', rows: ROWS, fromAdapterId: null, config, label: 'x' });
    expect(reports.map((r) => [r.kind, r.step])).toEqual([['saved', 3], ['failed', 6], ['saved', 9]]);
    expect(reports[1]).toMatchObject({ lastGood: 3, error: { code: 'quota-exceeded' } });
    expect(atFailure).toBe(3);
    expect((await db.trainingRuns.toArray())[0].status).toBe('done');
  });

  it('SELF and SRT training runs save no checkpoints (they retrain a phase from its start)', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'train' });
    const engine = new FakeTfjsEngine(() => '');
    await engine.load('tiny');
    const checkpoints = new CountingStore();
    const trainer = new StoredTrainer({ db, locks: new FakeLocks(), checkpoints, experimentId: exp.id, engine, origin: { kind: 'self', runId: 'self-1' } });
    await trainer.train({ method: 'sft', rows: ROWS, fromAdapterId: null, config, label: 'round 1' });
    expect(checkpoints.saved).toEqual([]);
    expect(engine.trainCalls[0].config).toMatchObject({ checkpointEvery: 0, checkpointSeconds: 0 });
    expect(parseTrainingConfig((await db.trainingRuns.toArray())[0].config).train).toMatchObject({ checkpointEvery: 0, checkpointSeconds: 0 });
  });

  it('refuses to resume without a checkpoint, or on another model', async () => {
    const stop = new AbortController();
    const { db, engine, trainer } = await setup({ beforeStep: (step) => void (step === 2 && stop.abort()) });
    await expect(trainer.train({ method: 'sft', rows: ROWS, fromAdapterId: null, config, label: 'early', signal: stop.signal })).rejects.toMatchObject({ code: 'aborted' });
    const [run] = await db.trainingRuns.toArray();
    await expect(trainer.resume(run.id, async () => ROWS)).rejects.toThrow(/No checkpoint of this training run/);
    await engine.load('other-model');
    await expect(trainer.resume(run.id, async () => ROWS)).rejects.toThrow(/trains tiny, but other-model is loaded/);
  });
});
