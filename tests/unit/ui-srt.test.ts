import { describe, expect, it } from 'vitest';
import { habitApplies, tryParseToyQuestion } from '../../src/core/toy/index.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { defaultSrtSettings, readSrtSettings, validateSrtSettings, writeSrtSettings, type SrtSettings } from '../../src/ui/srt/srt-settings.ts';
import { parseSrtCheckpoint, parseSrtConfig, resumeSrtRun, srtFraction, startSrtRun, type SrtLive } from '../../src/ui/runs/srt-runner.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';

async function setup(over: Partial<SrtSettings> = {}, critic = new FakeTfjsEngine(toyModel)) {
  const db = await uiDb();
  const exp = await createExperiment(db, { name: 'srt', modelId: 'toy-arith' });
  await addTaskSet(db, exp.id, 'toy-arith', { seed: 7, train: 10, eval: 6 });
  const actor = new FakeTfjsEngine(toyModel);
  await actor.load('toy-arith');
  await critic.load('critic-model');
  const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
  const s: SrtSettings = { ...defaultSrtSettings('toy-arith'), perRound: 10, evalCount: 6, batchSize: 4, ...over };
  const habitTrain = (await db.tasks.toArray()).filter((t) => t.split === 'train' && habitApplies(tryParseToyQuestion(t.prompt)!)).length;
  return { db, exp, actor, critic, deps, s, habitTrain };
}

describe('SRT settings and progress', () => {
  it('defaults are valid; stored values are read back or replaced with the defaults', () => {
    const d = defaultSrtSettings('toy-arith');
    validateSrtSettings(d);
    expect(readSrtSettings(writeSrtSettings({}, { ...d, perRound: 7 }), 'toy-arith')).toEqual({ value: { ...d, perRound: 7 }, problem: null });
    expect(readSrtSettings({ srt: { critiqueRounds: 0 } }, 'toy-arith').problem).toMatch(/critique rounds/);
    const seq = (['collect', 'sft', 'dpo', 'evaluate'] as const).flatMap((phase) => [0, 1].map((done) => srtFraction({ phase, done, total: 1 })));
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThanOrEqual(seq[i - 1]);
    expect(seq.at(-1)).toBeCloseTo(1, 9);
  });
});

describe('SRT runs (stored)', () => {
  it('the critic reviews and refines; SFT on its feedback-then-refinement, DPO on refined ≻ initial, evaluation', async () => {
    // One feedback-then-refinement row per loop (the toy default is the critic's two calls, 'step-chats': toy-srt.test.ts).
    const { db, exp, actor, critic, deps, s, habitTrain } = await setup({ sftShapes: ['meta'] });
    const live: SrtLive[] = [];
    const cp = await startSrtRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: s, engines: { actor, critic }, labels: { actor: 'toy', critic: 'critic' }, signal: new AbortController().signal, onProgress: (p) => live.push(p) });
    const [run] = await db.runs.toArray();
    expect(run).toMatchObject({ kind: 'srt', status: 'done', config: { critic: { modelId: 'critic-model' } } });
    expect(parseSrtCheckpoint(run.progress)).toEqual(cp);
    expect(cp.phase).toBe('done');
    // Improved loops = the habit questions (the critic's column check catches the habit; its refinement fixes it).
    expect(run.metrics).toHaveLength(1);
    expect(run.metrics[0]).toMatchObject({ round: 0, loops: 10, improved: habitTrain, kept: habitTrain, sftRows: habitTrain, preferencePairs: habitTrain, accuracyStart: expect.any(Number), accuracySft: 1, accuracyDpo: 1 });
    const steps = await db.steps.toArray();
    const collect = steps.filter((st) => st.loopId.startsWith(`${run.id}/collect/`));
    expect(collect.filter((st) => st.kind === 'feedback').every((st) => st.source === 'critic' && st.modelId === 'critic-model')).toBe(true);
    expect(collect.filter((st) => st.kind === 'refinement').every((st) => st.modelId === 'critic-model')).toBe(true);
    const training = await db.trainingRuns.toArray();
    expect(training.map((t) => [t.config.method, t.status, (t.config.origin as { kind: string }).kind])).toEqual([['sft', 'done', 'srt'], ['dpo', 'done', 'srt']]);
    expect(actor.trainCalls.map((c) => [c.data.method, c.fromAdapterId])).toEqual([['sft', null], ['dpo', cp.sftAdapterId]]);
    // The SFT rows are the critic's feedback then refinement (meta-skill rows).
    const sftRow = actor.trainCalls[0].data.rows[0] as { completion: { content: string }[] };
    expect(sftRow.completion[0].content).toContain('Verdict: wrong');
    expect((await db.adapters.toArray()).map((a) => a.name)).toEqual(['SRT SFT', 'SRT DPO']);
    for (let i = 1; i < live.length; i++) expect(live[i].fraction).toBeGreaterThanOrEqual(live[i - 1].fraction);
    expect(live.at(-1)!.phase).toBe('evaluate');
  });

  it('stopped in the DPO stage, resumed: the critic\'s loops and the SFT adapter are reused', async () => {
    const stop = new AbortController();
    const { db, exp, critic, deps, s } = await setup();
    const first = new FakeTfjsEngine(toyModel, { beforeStep: () => void (first.trainCalls.at(-1)?.data.method === 'dpo' && stop.abort()) });
    await first.load('toy-arith');
    await expect(startSrtRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: s, engines: { actor: first, critic }, labels: { actor: 'toy', critic: 'critic' }, signal: stop.signal })).rejects.toMatchObject({ code: 'aborted' });
    let [run] = await db.runs.toArray();
    expect(run.status).toBe('aborted');
    expect(parseSrtCheckpoint(run.progress)?.phase).toBe('dpo');
    const criticCalls = critic.chats.length;
    const fresh = new FakeTfjsEngine(toyModel);
    await fresh.load('toy-arith');
    const cp = await resumeSrtRun(deps, { runId: run.id, engines: { actor: fresh, critic }, signal: new AbortController().signal });
    [run] = await db.runs.toArray();
    expect(run.status).toBe('done');
    expect(critic.chats.length).toBe(criticCalls);
    expect(fresh.trainCalls.map((c) => c.data.method)).toEqual(['dpo']);
    expect(fresh.trainCalls[0].fromAdapterId).toBe(cp.sftAdapterId);
    expect(fresh.adapters.has(cp.sftAdapterId!)).toBe(true);
    // A stored run whose prompt lists are malformed is refused by name (as SELF does), not read as no prompts.
    expect(parseSrtConfig(run.config).trainTaskIds.length).toBeGreaterThan(0);
    expect(() => parseSrtConfig({ ...run.config, trainTaskIds: 'oops' })).toThrow(/The stored SRT run does not list its train prompts/);
    expect(() => parseSrtConfig({ ...run.config, evalTaskIds: [1, 2] })).toThrow(/does not list its held-out prompts/);
    // Its templates are resumed exactly or not at all: an unusable one is named, not swapped for the experiment's.
    expect(() => parseSrtConfig({ ...run.config, templates: { 'toy-arith': { draft: 'no placeholder' } } })).toThrow(/The stored run's templates for "toy-arith" cannot be used .* Start a new run\./);
  });

  it('needs a critic engine of its own and train prompts', async () => {
    const { exp, actor, deps, s } = await setup();
    await expect(startSrtRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: s, engines: { actor, critic: actor }, labels: { actor: 'a', critic: 'a' }, signal: new AbortController().signal })).rejects.toThrow(/critic slot loaded with its own engine/);
  });
});
