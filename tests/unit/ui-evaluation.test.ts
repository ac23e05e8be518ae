import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import type { TfjsChatParams } from '../../src/core/engine/tfjs/api.ts';
import { habitApplies, tryParseToyQuestion } from '../../src/core/toy/index.ts';
import { addAdapter } from '../../src/db/adapters.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { addTasks } from '../../src/db/tasks.ts';
import type { Run } from '../../src/db/types.ts';
import { defaultEvalSettings, readEvalSettings, writeEvalSettings } from '../../src/ui/evaluation/eval-settings.ts';
import { runEvaluation, sideBySide, type PairwiseRow } from '../../src/ui/runs/eval-runner.ts';
import { formatStat, selfTable } from '../../src/ui/evaluation/self-table.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';

function selfRun(id: string, points: Record<string, number>[]): Run {
  return { id, experimentId: 'e', kind: 'self', status: 'done', config: {}, progress: null, metrics: points.map((p, round) => ({ round, evalTasks: 10, ...p })), startedAt: 1, updatedAt: 1, finishedAt: 1, error: null };
}

describe('the SELF results table (issue 6)', () => {
  it('direct, self-refined and self-feedback accuracy before any round and after each, as mean ± spread over runs', () => {
    const runs = [
      selfRun('a', [{ directAccuracy: 0.4, refinedAccuracy: 0.7, selfFeedbackAccuracy: 0.8 }, { directAccuracy: 0.6, refinedAccuracy: 0.8, selfFeedbackAccuracy: 0.9 }, { directAccuracy: 0.7 }]),
      selfRun('b', [{ directAccuracy: 0.5, refinedAccuracy: 0.8, selfFeedbackAccuracy: 0.85 }, { directAccuracy: 0.8, refinedAccuracy: 0.9, selfFeedbackAccuracy: 0.95 }]),
      selfRun('no-baseline', [{}].slice(1)),
      { ...selfRun('eval', [{ directAccuracy: 1 }, { directAccuracy: 1 }]), kind: 'eval' as const },
    ];
    const t = selfTable(runs);
    expect(t.runIds).toEqual(['a', 'b']);
    expect(t.columns).toEqual(['before any round', 'after round 1', 'after round 2']);
    const direct = t.rows.find((r) => r.key === 'directAccuracy')!;
    expect(direct.cells.map((c) => c && Number(c.mean.toFixed(6)))).toEqual([45, 70, 70]);
    expect(direct.cells[0]!.values).toEqual([40, 50]);
    expect(direct.cells[1]!.std).toBeCloseTo(Math.sqrt(((60 - 70) ** 2 + (80 - 70) ** 2) / 1), 9);
    expect(direct.cells[2]!.values).toEqual([70]);
    expect(t.rows.find((r) => r.key === 'selfFeedbackAccuracy')!.cells[2]).toBeNull();
    expect(t.gain!.values.map((v) => Number(v.toFixed(9)))).toEqual([20, 30]);
    expect(formatStat(direct.cells[0])).toBe('45.0 ± 7.1');
    expect(formatStat(direct.cells[2])).toBe('70.0');
    expect(formatStat(null)).toBe('—');
    expect(selfTable([]).runIds).toEqual([]);
  });
});

describe('evaluation settings', () => {
  it('defaults per model, stored and read back, invalid ones replaced', () => {
    // Token budgets: none of its own, so each kind's (the toy kind's are 96 and 176, tested in ui-defaults.test.ts).
    expect(defaultEvalSettings('toy-arith')).toMatchObject({ evalCount: 200, answerTokens: null, feedbackTokens: null });
    const s = { ...defaultEvalSettings(null), evalCount: 5 };
    expect(readEvalSettings(writeEvalSettings({}, s), null)).toEqual({ value: s, problem: null });
    expect(readEvalSettings({}, null)).toEqual({ value: defaultEvalSettings(null), problem: null });
    // Unusable stored settings: the defaults, and the reason, which the tab shows.
    expect(readEvalSettings({ evaluation: { batchSize: 0 } }, null)).toEqual({
      value: defaultEvalSettings(null),
      problem: 'The stored evaluation settings could not be used (Evaluation setting "batch size" must be a whole number from 1 to 512 (got 0).); showing the defaults.',
    });
    expect(readEvalSettings({ evaluation: 'x' }, null).problem).toMatch(/not an object/);
    expect(() => writeEvalSettings({}, { ...s, judge: 'nobody' as never })).toThrow(/Unknown judge/);
  });
});

describe('evaluation runs (stored)', () => {
  it('base vs adapter on held-out toy questions: checkers, direct and self-refined, every answer stored', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'eval', modelId: 'toy-arith' });
    await addTaskSet(db, exp.id, 'toy-arith', { seed: 11, train: 1, eval: 8 });
    const engine = new FakeTfjsEngine(toyModel);
    await engine.load('toy-arith');
    const adapter = await addAdapter(db, { experimentId: exp.id, name: 'trained', baseModelId: 'toy-arith', config: { r: 8, alpha: 16, dropout: 0, rslora: false, targetModules: ['q_proj'], layers: null }, weights: new Blob([new Uint8Array([1])]) });
    const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
    const settings = { ...defaultEvalSettings('toy-arith'), adapterId: adapter.id, evalCount: 8, batchSize: 3 };
    const points = await runEvaluation(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings, actor: engine, judge: null, labels: { actor: 'toy', judge: null }, signal: new AbortController().signal });
    const evalQs = (await db.tasks.toArray()).filter((t) => t.split === 'eval');
    const nonHabit = evalQs.filter((t) => !habitApplies(tryParseToyQuestion(t.prompt)!)).length / 8;
    expect(points).toEqual([
      { round: 0, evalTasks: 8, directAccuracy: nonHabit, refinedAccuracy: 1, selfFeedbackAccuracy: 1, directCutOff: 0, refinedCutOff: 0, feedbackCutOff: 0, feedbackCalls: 8 },
      { round: 1, evalTasks: 8, directAccuracy: 1, refinedAccuracy: 1, selfFeedbackAccuracy: 1, directCutOff: 0, refinedCutOff: 0, feedbackCutOff: 0, feedbackCalls: 8 },
    ]);
    const [run] = await db.runs.toArray();
    expect(run).toMatchObject({ kind: 'eval', status: 'done', metrics: points });
    expect(engine.adapters.has(adapter.id)).toBe(true);
    const steps = await db.steps.toArray();
    const rows = sideBySide(run.id, steps);
    expect(rows).toHaveLength(8);
    for (const r of rows) {
      expect(r.adapter).toMatchObject({ pass: true });
      const q = tryParseToyQuestion(evalQs.find((t) => t.id === r.taskId)!.prompt)!;
      expect(r.base!.pass).toBe(!habitApplies(q));
    }
    expect(steps.filter((s) => s.loopId.startsWith(`${run.id}/eval-adapter-`)).every((s) => s.adapterId === adapter.id)).toBe(true);
    expect(steps.filter((s) => s.loopId.startsWith(`${run.id}/eval-base-`)).every((s) => s.adapterId === null)).toBe(true);
  });

  it('open-ended prompts: judged pairwise in both orders (win only when both agree), stored per prompt', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'open' });
    await addTasks(db, exp.id, [0, 1, 2].map((i) => ({ prompt: `Tell me about topic ${i}.`, kind: 'open', split: 'eval' as const })));
    const actor = new FakeTfjsEngine((p: TfjsChatParams) => (p.adapterId ? 'A detailed and careful answer.' : 'meh'));
    await actor.load('m');
    const adapter = await addAdapter(db, { experimentId: exp.id, name: 'x', baseModelId: 'm', config: { r: 1, alpha: 1, dropout: 0, rslora: false, targetModules: ['q_proj'], layers: null }, weights: new Blob([new Uint8Array([1])]) });
    // A judge that prefers the detailed answer, except on topic 2 where it always says "A" (position bias).
    const judge = new ScriptedEngine({
      script: (req) => {
        const text = req.messages.at(-1)!.content;
        if (text.includes('topic 2')) return 'Verdict: [[A]]';
        const a = /\[Response A\]\n([\s\S]*?)\n\[End of response A\]/.exec(text)![1];
        return a.includes('detailed') ? '[[A]]' : '[[B]]';
      },
    });
    const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
    const points = await runEvaluation(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: { ...defaultEvalSettings(null), adapterId: adapter.id, judge: 'critic' }, actor, judge, labels: { actor: 'm', judge: 'judge' }, signal: new AbortController().signal });
    expect(points.find((p) => p.round === 1)).toMatchObject({ wins: 2, ties: 1, losses: 0, judged: 3 });
    const [run] = await db.runs.toArray();
    const pairwise = run.progress?.pairwise as unknown as PairwiseRow[];
    expect(pairwise.map((r) => [r.outcome, r.consistent])).toEqual([['first', true], ['first', true], ['tie', false]]);
    expect(judge.calls).toHaveLength(6);
    await expect(runEvaluation(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: { ...defaultEvalSettings(null), judge: 'critic' }, actor, judge: null, labels: { actor: 'm', judge: null }, signal: new AbortController().signal })).rejects.toThrow(/no critic is loaded/);
  });
});
