/**
 * Runs whose outcome is empty end 'empty' with the reason and what to change, never 'done': SRT and SELF that
 * trained nothing, an evaluation in which the token limit cut every answer off. Answers cut off by the token
 * limit are counted in every evaluation. (The test engine counts one character as one token.)
 */
import { describe, expect, it } from 'vitest';
import { TOY_KIND } from '../../src/core/toy/kind.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { runEvaluation } from '../../src/ui/runs/eval-runner.ts';
import { defaultEvalSettings } from '../../src/ui/evaluation/eval-settings.ts';
import { collectEmptyReason, DEFAULT_COLLECT } from '../../src/ui/samples/collect.ts';
import { startSelfRun } from '../../src/ui/runs/self-runner.ts';
import { toySelfSettings } from '../../src/ui/self/self-settings.ts';
import { startSrtRun } from '../../src/ui/runs/srt-runner.ts';
import { defaultSrtSettings } from '../../src/ui/srt/srt-settings.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';

async function setup() {
  const db = await uiDb();
  const exp = await createExperiment(db, { name: 'outcomes', modelId: 'toy-arith' });
  await addTaskSet(db, exp.id, TOY_KIND, { seed: 7, train: 8, eval: 6 });
  const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
  const engine = async (id = 'toy-arith') => {
    const e = new FakeTfjsEngine(toyModel, { charTokens: true });
    await e.load(id);
    return e;
  };
  return { db, exp, deps, engine, signal: new AbortController().signal };
}

describe('empty outcomes', () => {
  it('SRT with 12 answer tokens trains nothing: the run ends empty and says to raise the answer tokens', async () => {
    const { db, exp, deps, engine, signal } = await setup();
    const settings = { ...defaultSrtSettings('toy-arith'), answerTokens: 12 };
    const cp = await startSrtRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings, engines: { actor: await engine(), critic: await engine('critic') }, labels: { actor: 'toy', critic: 'critic' }, signal });
    expect([cp.metrics.sftRows, cp.metrics.preferencePairs]).toEqual([0, 0]);
    const [run] = await db.runs.toArray();
    expect(run.status).toBe('empty');
    expect(run.error).toMatch(/^Finished with nothing to train: the critic reviewed 8 answers and improved 0; 0 loops were kept/);
    expect(run.error).toMatch(/The token limit cut off 16 of 16 answers/);
    expect(run.error).toContain('Raise "Answer tokens" (it was 12) to what the task kind needs (toy-arith 96)');
    expect(run.metrics[0]).toMatchObject({ answers: 16, answersCutOff: 16, evalN_start: 6, evalCutOff_start: 6 });
    expect(await db.trainingRuns.count()).toBe(0);
  });

  it('SRT with the defaults trains and ends done', async () => {
    const { db, exp, deps, engine, signal } = await setup();
    await startSrtRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: defaultSrtSettings('toy-arith'), engines: { actor: await engine(), critic: await engine('critic') }, labels: { actor: 'toy', critic: 'critic' }, signal });
    const [run] = await db.runs.toArray();
    expect([run.status, run.error]).toEqual(['done', null]);
    expect(run.metrics[0].sftRows).toBeGreaterThan(0);
    expect(run.metrics[0].answersCutOff).toBe(0);
  });

  it('an evaluation whose every answer is cut off ends empty; the cut-offs are counted either way', async () => {
    const { db, exp, deps, engine, signal } = await setup();
    const actor = await engine();
    const args = { experimentId: exp.id, experimentSettings: exp.settings, actor, judge: null, labels: { actor: 'toy', judge: null }, signal };
    const cut = await runEvaluation(deps, { ...args, settings: { ...defaultEvalSettings('toy-arith'), answerTokens: 12 } });
    expect(cut[0]).toMatchObject({ evalTasks: 6, directAccuracy: 0, directCutOff: 6, refinedCutOff: 6 });
    // (Characters as tokens: the toy kind's 96 would cut this engine's longer workings; 400 cuts none.)
    const whole = await runEvaluation(deps, { ...args, settings: { ...defaultEvalSettings('toy-arith'), answerTokens: 400, feedbackTokens: 400 } });
    expect(whole[0]).toMatchObject({ evalTasks: 6, directCutOff: 0, refinedCutOff: 0, feedbackCutOff: 0 });
    const runs = (await db.runs.toArray()).sort((a, b) => a.startedAt - b.startedAt);
    expect(runs.map((r) => r.status)).toEqual(['empty', 'done']);
    expect(runs[0].error).toMatch(/^Every answer was cut off by the token limit \(all 6 direct answers\)/);
    const evalSteps = (await db.steps.toArray()).filter((s) => s.kind === 'evaluation' && s.runId === runs[0].id);
    expect(evalSteps.every((s) => s.finishReason === 'length')).toBe(true);
  });

  it('SELF that keeps no loop ends empty, naming the filter and the cut-off answers', async () => {
    const { db, exp, deps, engine, signal } = await setup();
    const settings = { ...toySelfSettings(), rounds: 1, perRound: 0, evalCount: 0, answerTokens: 12 };
    await startSelfRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings, engines: { actor: await engine(), critic: null }, labels: { actor: 'toy', critic: null }, signal });
    const [run] = await db.runs.toArray();
    expect(run.status).toBe('empty');
    expect(run.error).toMatch(/^Finished with nothing to train: round 1 kept 0 of 8 loops, so no adapter was trained \(a loop is kept when its final feedback says "correct"\)\./);
    expect(run.error).toContain('Raise "Answer tokens" (it was 12)');
  });

  it('Collect that keeps nothing says why and what to change', () => {
    const report = { loops: 5, kept: 0, dropped: [{ reason: 'the final feedback does not say "correct"', count: 5 }], added: 0, addedIncluded: 0, duplicates: 0, heldOut: 0, problems: [] };
    expect(collectEmptyReason(report, DEFAULT_COLLECT.filter)).toMatch(/^Nothing to train: none of the 5 loops passed the filter\. The model's own feedback called none/);
    expect(collectEmptyReason({ ...report, kept: 1 }, DEFAULT_COLLECT.filter)).toBeNull();
  });
});
