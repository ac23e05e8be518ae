import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { budgetsByKind } from '../../src/core/refine/budgets.ts';
import { kindRegistry } from '../../src/core/refine/kinds.ts';
import { habitApplies, tryParseToyQuestion } from '../../src/core/toy/index.ts';
import { TOY_MAX_TOKENS } from '../../src/core/toy/evaluate.ts';
import { TOY_SELF_DEFAULTS } from '../../src/core/toy/self-experiment.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { getTrainingMetrics } from '../../src/db/training-runs.ts';
import type { Run } from '../../src/db/types.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { planEta, planFraction, selfPlan } from '../../src/ui/runs/self-plan.ts';
import { roundPoint } from '../../src/ui/runs/self-metrics.ts';
import { chooseTasks, parseSelfProgress, resumeSelfRun, roundWindow, startSelfRun, type SelfLive } from '../../src/ui/runs/self-runner.ts';
import { defaultSelfSettings, readSelfSettings, toySelfSettings, validateSelfSettings, writeSelfSettings, type SelfSettings } from '../../src/ui/self/self-settings.ts';
import { createToyExperiment, TOY_EXPERIMENT_NAME } from '../../src/ui/self/toy-quickstart.ts';
import { readEngineSetup } from '../../src/ui/engines/engine-setup.ts';
import { readRefineSettings } from '../../src/ui/playground/refine-settings.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { formToConfig } from '../../src/ui/training/train-form.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';

describe('SELF settings', () => {
  it('the toy model defaults are the toy experiment\'s settings', () => {
    const s = toySelfSettings();
    expect(s).toMatchObject({ rounds: TOY_SELF_DEFAULTS.rounds, perRound: 200, evalCount: 200, freshPerRound: true, batchSize: TOY_SELF_DEFAULTS.batchSize, stop: TOY_SELF_DEFAULTS.stop, shapes: [...TOY_SELF_DEFAULTS.shapes], metaMix: TOY_SELF_DEFAULTS.metaMix });
    expect(s.filter.requireVerdictCorrect).toBe(true);
    // No number of its own: the toy kind's budgets, which are its SELF experiment's.
    expect([s.answerTokens, s.feedbackTokens]).toEqual([null, null]);
    expect(budgetsByKind(['toy-arith'], s, kindRegistry)).toEqual({ 'toy-arith': { draft: TOY_MAX_TOKENS.draft, feedback: TOY_MAX_TOKENS.feedback, refine: TOY_MAX_TOKENS.refine, stop: [] } });
    expect(defaultSelfSettings('toy-arith')).toEqual(s);
    expect(defaultSelfSettings('other/model').perRound).toBe(20);
  });

  it('checks every field and falls back (saying why) for unusable stored settings', () => {
    const s = toySelfSettings();
    expect(() => validateSelfSettings({ ...s, rounds: 1.5 })).toThrow(/"rounds" must be a whole number/);
    expect(() => validateSelfSettings({ ...s, shapes: [] })).toThrow(/at least one row shape/);
    expect(() => validateSelfSettings({ ...s, train: { ...s.train, r: 0 } })).toThrow(/LoRA rank r/);
    expect(() => validateSelfSettings({ ...s, rounds: 0, metaSkill: 'off', evaluation: { ...s.evaluation, baseline: false } })).toThrow(/nothing to do/);
    const written = writeSelfSettings({ other: 1 }, { ...s, rounds: 3 });
    expect(written.other).toBe(1);
    expect(readSelfSettings(written, 'toy-arith')).toEqual({ value: { ...s, rounds: 3 }, problem: null });
    const broken = readSelfSettings({ self: { rounds: -1 } }, 'toy-arith');
    expect(broken.value).toEqual(s);
    expect(broken.problem).toMatch(/could not be used/);
  });
});

describe('one progress bar across phases', () => {
  it('moves forward through meta-skill, baseline, and each round, and ends at 1', () => {
    const plan = selfPlan({ rounds: 2, metaSkill: true, baseline: true, selfRefineEval: true, perRound: 10, metaCount: 10, evalCount: 5 });
    expect(plan.map((p) => `${p.round}:${p.phase}`)).toEqual(['0:meta-skill', '0:baseline', '1:collect', '1:train', '1:evaluate', '2:collect', '2:train', '2:evaluate']);
    const seq = plan.flatMap((p) => [0, 1, 2].map((d) => planFraction(plan, { round: p.round, phase: p.phase, done: d, total: 2 })));
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThanOrEqual(seq[i - 1]);
    expect(seq[0]).toBe(0);
    expect(seq.at(-1)).toBeCloseTo(1, 9);
    expect(planFraction(plan, { round: 2, phase: 'done', done: 0, total: 0 })).toBe(1);
    expect(planEta(0.5, 0, 1000)).toBe(1000);
    expect(planEta(0.25, 0.25, 1000)).toBeNull();
  });
});

describe('prompts per round', () => {
  it('fresh windows of the train split, wrapping around', () => {
    const t = [1, 2, 3, 4, 5];
    expect(roundWindow(t, 1, 2)).toEqual([1, 2]);
    expect(roundWindow(t, 2, 2)).toEqual([3, 4]);
    expect(roundWindow(t, 3, 2)).toEqual([5, 1]);
    expect(roundWindow(t, 1, 0)).toEqual(t);
  });

  it('a run takes the train prompts its rounds need and the first held-out ones', () => {
    const task = (id: string, split: 'train' | 'eval') => ({ id, kind: 'math', prompt: id, split, source: 'builtin' as const });
    const tasks = [task('a', 'train'), task('b', 'train'), task('c', 'train'), task('x', 'eval'), task('y', 'eval')];
    const s = { ...toySelfSettings(), rounds: 2, perRound: 1, evalCount: 1 };
    expect(chooseTasks(tasks, s)).toEqual({ train: [tasks[0], tasks[1]], eval: [tasks[3]] });
    expect(chooseTasks(tasks, { ...s, freshPerRound: false }).train).toEqual([tasks[0]]);
    expect(() => chooseTasks(tasks.filter((t) => t.split === 'eval'), s)).toThrow(/train split/);
    expect(() => chooseTasks(tasks.filter((t) => t.split === 'train'), s)).toThrow(/held-out prompts/);
  });
});

describe('round points', () => {
  it('flatten the round\'s metrics, self-feedback accuracy included, into the stored point', () => {
    const selfFeedback = { n: 4, matches: 2, accuracy: 0.5, caught: 0.5, falseAlarm: 0 };
    const point = roundPoint({ round: 1, adapterId: 'a', collect: { loops: 4, kept: 3, improved: 1, rows: 3 }, train: { rows: 3, metrics: { finalLoss: 0.25, steps: 2, seconds: 1 }, skipped: false }, directAccuracy: 0.5, refinedAccuracy: null, selfFeedback, evalTasks: 4, pairwise: null });
    expect(point).toEqual({ round: 1, evalTasks: 4, directAccuracy: 0.5, selfFeedbackAccuracy: 0.5, selfFeedbackN: 4, selfFeedbackCaught: 0.5, selfFeedbackFalseAlarm: 0, loops: 4, kept: 3, improved: 1, rows: 3, trainRows: 3, trainSkipped: 0, trainLoss: 0.25, trainSteps: 2, trainSeconds: 1 });
  });
});

describe('the toy quick start', () => {
  it('creates the offline toy experiment: toy engine, tasks for two rounds of 200 and 200 held out, settings that fit the model', async () => {
    const db = await uiDb();
    const e = await createToyExperiment(db);
    expect(e).toMatchObject({ name: TOY_EXPERIMENT_NAME, modelId: 'toy-arith', engine: 'tfjs' });
    expect(readEngineSetup(e.settings)).toEqual({ setup: { actor: { kind: 'tfjs', model: { from: 'embedded', id: 'toy-arith' }, backend: 'auto' }, critic: null }, problem: null });
    expect(readSelfSettings(e.settings, 'toy-arith')).toEqual({ value: toySelfSettings(), problem: null });
    const refine = readRefineSettings(e.settings);
    expect(refine.problems).toEqual([]);
    expect(refine.value.params.maxTokens).toBeNull();
    expect(budgetsByKind(['toy-arith'], { answerTokens: null, feedbackTokens: null }, kindRegistry)['toy-arith'].feedback).toBeLessThanOrEqual(176);
    const tasks = await db.tasks.toArray();
    expect(tasks.filter((t) => t.split === 'train')).toHaveLength(400);
    expect(tasks.filter((t) => t.split === 'eval')).toHaveLength(200);
    expect(new Set(tasks.map((t) => t.kind))).toEqual(new Set(['toy-arith']));
  });
});

async function toySetup(settings: Partial<SelfSettings> = {}, engineOptions: ConstructorParameters<typeof FakeTfjsEngine>[1] = {}) {
  const db = await uiDb();
  const exp = await createExperiment(db, { name: 'toy SELF', modelId: 'toy-arith' });
  await addTaskSet(db, exp.id, 'toy-arith', { seed: 3, train: 16, eval: 10 });
  const engine = new FakeTfjsEngine(toyModel, engineOptions);
  await engine.load('toy-arith');
  const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
  const s: SelfSettings = { ...toySelfSettings(), rounds: 1, perRound: 8, evalCount: 10, batchSize: 4, ...settings };
  const evalQuestions = (await db.tasks.toArray()).filter((t) => t.split === 'eval').map((t) => tryParseToyQuestion(t.prompt)!);
  const nonHabit = evalQuestions.filter((q) => !habitApplies(q)).length / evalQuestions.length;
  return { db, exp, engine, deps, s, nonHabit };
}

describe('SELF runs from the SELF tab (stored)', () => {
  it('a round on the scripted toy model: every step, the checkpoint, per-round metrics, the training run and adapter', async () => {
    // Question → answer rows only, no meta-skill mix: the rows are then exactly the kept loops (the step chats
    // and the mix are counted in toy-self.test.ts).
    const { db, exp, engine, deps, s, nonHabit } = await toySetup({ shapes: ['sft'], metaMix: { feedback: 0, refine: 0 } });
    const progress: SelfLive[] = [];
    const result = await startSelfRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: s, engines: { actor: engine, critic: null }, labels: { actor: 'toy', critic: null }, signal: new AbortController().signal, hooks: { onProgress: (p) => progress.push(p) } });
    const [run] = await db.runs.toArray();
    expect(run).toMatchObject({ kind: 'self', status: 'done', config: { actor: { kind: 'tfjs', modelId: 'toy-arith' }, critic: null } });
    expect((run.config.trainTaskIds as string[]).length).toBe(8);
    expect((run.config.evalTaskIds as string[]).length).toBe(10);
    const p = parseSelfProgress(run.progress)!;
    expect(p.checkpoint).toMatchObject({ phase: 'done', round: 1, adapterId: result.adapterId });
    expect(Object.keys(p.phaseMs).sort()).toEqual(['0:baseline', '1:collect', '1:evaluate', '1:train']);
    // The scripted model: its drafts carry the habit until trained; its own column check finds and fixes it.
    const [r0, r1] = run.metrics;
    expect(r0).toMatchObject({ round: 0, evalTasks: 10, directAccuracy: nonHabit, refinedAccuracy: 1, selfFeedbackAccuracy: 1 });
    expect(r1).toMatchObject({ round: 1, evalTasks: 10, directAccuracy: 1, refinedAccuracy: 1, selfFeedbackAccuracy: 1, loops: 8, kept: 8, trainRows: 8 });
    // Steps: deterministic loop ids under the run, rounds stamped, evaluations of round 1 with the new adapter.
    const steps = await db.steps.toArray();
    expect(steps.every((st) => st.runId === run.id && st.loopId.startsWith(`${run.id}/r`))).toBe(true);
    expect(steps.filter((st) => st.loopId.includes('/r1/collect/')).every((st) => st.evolutionRound === 1 && st.adapterId === null)).toBe(true);
    expect(steps.filter((st) => st.loopId.includes('/r1/eval-')).every((st) => st.adapterId === result.adapterId)).toBe(true);
    expect(steps.filter((st) => st.kind === 'evaluation')).toHaveLength(40); // direct + self-refined, before and after
    // The training: a stored run made by SELF, its loss curve, the adapter under the same id.
    const [training] = await db.trainingRuns.toArray();
    expect(training).toMatchObject({ status: 'done', adapterId: result.adapterId, config: { origin: { kind: 'self', runId: run.id }, rowCount: 8, name: 'SELF round 1' } });
    expect(formToConfig(s.train)).toEqual(engine.trainCalls[0].config);
    expect(engine.trainCalls).toHaveLength(1);
    expect((await getTrainingMetrics(db, training.id)).map((m) => m.step)).toEqual([1, 2]); // 8 rows × 3 epochs / batch 16
    expect(await db.adapters.get(result.adapterId!)).toMatchObject({ trainingRunId: training.id, baseModelId: 'toy-arith' });
    // One bar: non-decreasing to the end.
    for (let i = 1; i < progress.length; i++) expect(progress[i].fraction).toBeGreaterThanOrEqual(progress[i - 1].fraction);
    expect(progress.at(-1)!.fraction).toBeCloseTo(1, 6);
    expect(new Set(progress.map((x) => x.phase))).toEqual(new Set(['baseline', 'collect', 'train', 'evaluate']));
  });

  it('fresh prompts per round: round 2 answers the next window of the train split, starting from round 1\'s adapter', async () => {
    const { db, exp, engine, deps, s } = await toySetup({ rounds: 2, perRound: 4, evaluation: { baseline: false, selfRefine: false, judge: 'none' } });
    await startSelfRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: s, engines: { actor: engine, critic: null }, labels: { actor: 'toy', critic: null }, signal: new AbortController().signal });
    const [run] = await db.runs.toArray();
    const ids = run.config.trainTaskIds as string[];
    const steps = await db.steps.toArray();
    const collected = (r: number) => [...new Set(steps.filter((st) => st.loopId.includes(`/r${r}/collect/`)).map((st) => st.taskId))].sort();
    expect(collected(1)).toEqual(ids.slice(0, 4).sort());
    expect(collected(2)).toEqual(ids.slice(4, 8).sort());
    expect(engine.trainCalls.map((c) => c.fromAdapterId)).toEqual([null, engine.trainCalls[0].adapterId]);
    expect(run.metrics.map((m) => m.round)).toEqual([1, 2]);
  });

  it('stopped during training, resumed after a "reload": collection is not redone, the round finishes', async () => {
    const stop = new AbortController();
    const { db, exp, deps, s } = await toySetup();
    const first = new FakeTfjsEngine(toyModel, { beforeStep: () => stop.abort() });
    await first.load('toy-arith');
    await expect(startSelfRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: s, engines: { actor: first, critic: null }, labels: { actor: 'toy', critic: null }, signal: stop.signal })).rejects.toMatchObject({ code: 'aborted' });
    let [run] = await db.runs.toArray();
    expect(run.status).toBe('aborted');
    expect(parseSelfProgress(run.progress)!.checkpoint.phase).toBe('train');
    expect((await db.trainingRuns.toArray()).map((t) => t.status)).toEqual(['aborted']);
    const draftsBefore = (await db.steps.toArray()).filter((st) => st.kind === 'draft' && st.loopId.includes('/r1/collect/')).length;
    expect(draftsBefore).toBe(8);

    // A fresh engine (as after a reload) on another model is refused; the right one resumes.
    const other = new FakeTfjsEngine(toyModel);
    await other.load('another-model');
    await expect(resumeSelfRun(deps, { runId: run.id, engines: { actor: other, critic: null }, signal: new AbortController().signal })).rejects.toThrow(/Load toy-arith as the actor/);
    const fresh = new FakeTfjsEngine(toyModel);
    await fresh.load('toy-arith');
    await resumeSelfRun(deps, { runId: run.id, engines: { actor: fresh, critic: null }, signal: new AbortController().signal });
    [run] = await db.runs.toArray();
    expect(run.status).toBe('done');
    expect((await db.steps.toArray()).filter((st) => st.kind === 'draft' && st.loopId.includes('/r1/collect/')).length).toBe(draftsBefore);
    expect(run.metrics.map((m) => m.round)).toEqual([0, 1]);
    expect(run.metrics[1].directAccuracy).toBe(1);
    expect((await db.trainingRuns.toArray()).map((t) => t.status)).toEqual(['aborted', 'done']);
  });

  it('says what is missing before storing anything', async () => {
    const { db, exp, engine, deps, s } = await toySetup();
    const go = (settings: SelfSettings) => startSelfRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings, engines: { actor: engine, critic: null }, labels: { actor: 'toy', critic: null }, signal: new AbortController().signal });
    await expect(go({ ...s, metaSkill: 'critic' })).rejects.toThrow(/use the critic/);
    await expect(go({ ...s, train: { ...s.train, layers: '7' } })).rejects.toThrow(/layers 0 to 1, not 7/);
    expect(await db.runs.count()).toBe(0);
    const e = await go({ ...s, startAdapterId: 'nope' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((await db.runs.toArray() as Run[]).map((r) => r.status)).toEqual(['failed']);
  });
});
