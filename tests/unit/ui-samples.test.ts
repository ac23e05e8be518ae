import { describe, expect, it } from 'vitest';
import { runSelfRefineBatch } from '../../src/core/refine/loop.ts';
import { habitApplies, tryParseToyQuestion } from '../../src/core/toy/index.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { executeRun } from '../../src/db/runs.ts';
import { addStep } from '../../src/db/steps.ts';
import type { Sample } from '../../src/db/types.ts';
import { collectSamples, DEFAULT_COLLECT, sampleKey } from '../../src/ui/samples/collect.ts';
import { requireTrainingSamples, samplesJsonl, sampleToTrl, trainingRows } from '../../src/ui/samples/sample-rows.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import { fromTaskRow } from '../../src/ui/tasks/task-rows.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';

const STOP = { maxRounds: 1, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true, maxUnparsedInRow: 1 };

/** An experiment with toy tasks and one finished batch run of the scripted toy model over every task. */
async function withRun() {
  const db = await uiDb();
  const exp = await createExperiment(db, { name: 'samples', modelId: 'toy-arith' });
  await addTaskSet(db, exp.id, 'toy-arith', { seed: 5, train: 12, eval: 4 });
  const rows = await db.tasks.toArray();
  const engine = new FakeTfjsEngine(toyModel);
  await engine.load('toy-arith');
  const run = await executeRun(db, new FakeLocks(), { experimentId: exp.id, kind: 'batch' }, async (r) => {
    await runSelfRefineBatch({
      loops: rows.map((t) => ({ task: fromTaskRow(t), loopId: `${r.id}/${t.id}` })),
      engine,
      stop: STOP,
      params: { temperature: 0, maxTokens: 12 },
      onStep: async (s) => void (await addStep(db, r.id, s)),
    });
    return r;
  });
  const habit = (t: { prompt: string }) => habitApplies(tryParseToyQuestion(t.prompt)!);
  return { db, exp, run, rows, train: rows.filter((t) => t.split === 'train'), habit };
}

describe('collecting samples from finished runs', () => {
  it('every loop gives an SFT sample; the filter switches samples on; shapes; provenance names the steps', async () => {
    const { db, exp, run, train, habit } = await withRun();
    const report = await collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id], shapes: ['sft', 'preference', 'meta'], filter: { ...DEFAULT_COLLECT.filter, requireImproved: true } });
    const improved = train.filter(habit).length;
    expect(improved).toBeGreaterThan(0);
    expect(report).toMatchObject({ loops: 12, kept: improved, heldOut: 4, added: 12 + 2 * improved, addedIncluded: 3 * improved, duplicates: 0, problems: [] });
    expect(report.dropped).toEqual([{ reason: 'did not improve', count: 12 - improved }]);
    const samples = await db.samples.toArray();
    const steps = new Map((await db.steps.toArray()).map((s) => [s.id, s]));
    const taskOf = (s: Sample) => steps.get(s.provenance.stepIds[0])!.taskId;
    for (const s of samples) {
      expect(s.provenance).toMatchObject({ runId: run.id, round: 0 });
      const kinds = s.provenance.stepIds.map((id) => steps.get(id)!.kind);
      const task = train.find((t) => t.id === taskOf(s))!;
      expect(s.included).toBe(habit(task));
      if (s.format !== 'meta') expect(s.prompt).toEqual([{ role: 'user', content: task.prompt }]);
      else expect(s.prompt.at(-1)!.content).toContain(task.prompt);
      if (s.format === 'sft') {
        expect(kinds).toEqual([habit(task) ? 'refinement' : 'draft']);
        expect(s.chosen).toBe(steps.get(s.provenance.stepIds[0])!.text.trim());
      } else if (s.format === 'dpo') {
        expect(kinds).toEqual(['refinement', 'draft']);
        expect(s.rejected).toBe(steps.get(s.provenance.stepIds[1])!.text.trim());
        expect(s.feedback).toContain('Verdict: wrong');
      } else {
        expect(s.format).toBe('meta');
        expect(kinds).toEqual(['draft', 'feedback', 'refinement']);
        expect(s.chosen).toContain('Verdict: wrong');
        expect(s.feedback).toBe(steps.get(s.provenance.stepIds[1])!.text);
      }
    }
    // Collecting again stores nothing twice.
    const again = await collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id], shapes: ['sft', 'preference', 'meta'] });
    expect(again).toMatchObject({ added: 0, duplicates: 12 + 2 * improved });
    expect(await db.samples.count()).toBe(samples.length);
  });

  it('without "keep dropped" only kept loops are stored; eval tasks only when asked for', async () => {
    const { db, exp, run } = await withRun();
    const r = await collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id], keepDropped: false, filter: { ...DEFAULT_COLLECT.filter, requireOraclePass: true } });
    expect(r.added).toBe(12);
    expect((await db.samples.toArray()).every((s) => s.included)).toBe(true);
    const withEval = await collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id], includeEvalSplit: true });
    expect(withEval).toMatchObject({ loops: 16, added: 4, duplicates: 12, heldOut: 0 });
  });

  it('says what it could not read: a task with an unreadable checker (its loops skipped), a run\'s unusable templates', async () => {
    const { db, exp, run, train } = await withRun();
    await db.tasks.update(train[0].id, { checker: { rules: 'not a list' } });
    await db.runs.update(run.id, { config: { ...run.config, templates: { 'toy-arith': { draft: 'no placeholder' } } } });
    const r = await collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id] });
    expect(r.loops).toBe(11);
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toMatch(/has a checker whose "rules" is not a list.*Its loops were skipped\./);
    expect(r.problems[1]).toMatch(/^The stored run's templates for "toy-arith" cannot be used \(.*\)\. The experiment's templates were used for its samples\.$/);
  });

  it('refuses clearly', async () => {
    const { db, exp, run } = await withRun();
    await expect(collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [] })).rejects.toThrow(/Pick at least one finished run/);
    await expect(collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id], shapes: [] })).rejects.toThrow(/at least one sample shape/);
    await expect(collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: [run.id], filter: { ...DEFAULT_COLLECT.filter, minFinalScore: 11 } })).rejects.toThrow(/between 1 and 10/);
    await expect(collectSamples(db, exp.id, { ...DEFAULT_COLLECT, runIds: ['gone'] })).rejects.toThrow(/None of the chosen runs/);
  });
});

describe('samples as TRL rows', () => {
  const base = { experimentId: 'e', createdAt: 1, feedback: null, provenance: { stepIds: ['s1', 's2'], runId: 'r', round: 2 } };
  const samples: Sample[] = [
    { ...base, id: 'a', format: 'sft', prompt: [{ role: 'user', content: 'q1' }], chosen: 'A1', rejected: null, included: true },
    { ...base, id: 'b', format: 'sft', prompt: [{ role: 'user', content: 'q2' }], chosen: 'A2', rejected: null, included: false },
    { ...base, id: 'c', format: 'dpo', prompt: [{ role: 'user', content: 'q3' }], chosen: 'good', rejected: 'bad', included: true },
    { ...base, id: 'd', format: 'meta', prompt: [{ role: 'user', content: 'q4 + draft' }], chosen: 'feedback then better', rejected: null, included: true },
  ];

  it('writes each format from its samples, only included ones, optionally with provenance', () => {
    expect(samplesJsonl(samples, 'sft-messages')).toEqual({ text: `${JSON.stringify({ messages: [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'A1' }] })}\n`, rows: 1 });
    expect(JSON.parse(samplesJsonl(samples, 'prompt-completion').text)).toEqual({ prompt: [{ role: 'user', content: 'q1' }], completion: [{ role: 'assistant', content: 'A1' }] });
    expect(JSON.parse(samplesJsonl(samples, 'preference').text)).toEqual({ prompt: [{ role: 'user', content: 'q3' }], chosen: [{ role: 'assistant', content: 'good' }], rejected: [{ role: 'assistant', content: 'bad' }] });
    expect(JSON.parse(samplesJsonl(samples, 'meta').text)).toEqual({ prompt: [{ role: 'user', content: 'q4 + draft' }], completion: [{ role: 'assistant', content: 'feedback then better' }] });
    const withProv = JSON.parse(samplesJsonl(samples, 'preference', { provenance: true }).text) as Record<string, unknown>;
    expect(Object.keys(withProv)).toEqual(['prompt', 'chosen', 'rejected', 'provenance']);
    expect(withProv.provenance).toEqual({ sampleId: 'c', runId: 'r', round: 2, stepIds: ['s1', 's2'] });
    expect(sampleToTrl(samples[0], 'preference')).toBeNull();
  });

  it('trains SFT on SFT and meta samples, DPO on pairs; says when there is nothing', () => {
    expect(trainingRows(samples, 'sft')).toEqual([
      { messages: [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'A1' }] },
      { prompt: [{ role: 'user', content: 'q4 + draft' }], completion: [{ role: 'assistant', content: 'feedback then better' }] },
    ]);
    expect(trainingRows(samples, 'dpo')).toHaveLength(1);
    expect(requireTrainingSamples(samples, 'sft').map((s) => s.id)).toEqual(['a', 'd']);
    expect(() => requireTrainingSamples(samples.slice(0, 2).map((s) => ({ ...s, included: false })), 'sft')).toThrow(/no included SFT or meta-skill samples/);
    expect(() => requireTrainingSamples([], 'dpo')).toThrow(/preference pairs/);
    expect(sampleKey(samples[0])).not.toBe(sampleKey({ ...samples[0], chosen: 'A1 ' }));
  });
});
