import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { compareSideBySide, evaluateAccuracy } from '../../src/core/refine/eval.ts';
import { combineOrders, judgePair, parseJudgement, winRates, type JudgeTemplate } from '../../src/core/refine/judge.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import { answerUnderReview, attemptsQuoted, callKind, mathTask, openTask, PLAIN_TEMPLATES } from './refine-helpers.ts';

const JUDGE: JudgeTemplate = { system: '', compare: 'JUDGE {prompt}\nA: {answer_a}\nB: {answer_b}' };

/** Answers 42 with the adapter "good", 41 otherwise; refining adds 1 per attempt; feedback says NO ISSUES at 42. */
function actor(req: ChatRequest): string {
  const k = callKind(req);
  if (/Tell me about/.test(req.messages[0].content)) return `An essay (${req.adapterId ?? 'base'}).`;
  if (k === 'draft') return req.adapterId === 'good' ? '#### 42' : '#### 41';
  if (k === 'refine') return `#### ${41 + attemptsQuoted(req)}`;
  if (k === 'feedback') return /#### 42/.test(answerUnderReview(req)) ? 'NO ISSUES\nScore: 10/10' : 'Score: 3/10\nVerdict: incorrect';
  throw new Error(`unexpected call ${k}`);
}

const tasks = [mathTask('m1', 42, 'eval'), mathTask('m2', 42, 'eval'), openTask('o1', 'eval')];
const loopIdFor = (t: { id: string }) => `ev/${t.id}`;

describe('evaluateAccuracy', () => {
  it('direct answers: accuracy by the checkers, an evaluation step per task, batched when possible', async () => {
    const engine = new ScriptedEngine({ script: actor, batch: true });
    const steps: StepRecord[] = [];
    const progress: number[] = [];
    const good = await evaluateAccuracy({ engine, adapterId: 'good', tasks, loopIdFor, templates: PLAIN_TEMPLATES, onStep: async (s) => void steps.push(s), onProgress: (d) => progress.push(d) });
    expect(good).toMatchObject({ n: 2, passed: 2, accuracy: 1, skipped: ['o1'] });
    expect(engine.batchCalls).toBe(1);
    expect(progress).toEqual([2]);
    expect(steps.map((s) => [s.kind, s.loopId, s.score, s.adapterId])).toEqual([
      ['evaluation', 'ev/m1', 1, 'good'],
      ['evaluation', 'ev/m2', 1, 'good'],
    ]);
    expect(steps[0].prompt).toEqual([{ role: 'user', content: `DRAFT ${tasks[0].prompt}` }]);
    const base = await evaluateAccuracy({ engine: new ScriptedEngine({ script: actor }), adapterId: null, tasks, loopIdFor, templates: PLAIN_TEMPLATES });
    expect(base.accuracy).toBe(0);
    expect(base.perTask.map((p) => p.answer)).toEqual(['#### 41', '#### 41']);
  });

  it('with inference-time self-refinement: loops run (no oracle), the final answer is checked', async () => {
    const engine = new ScriptedEngine({ script: actor });
    const steps: StepRecord[] = [];
    const r = await evaluateAccuracy({
      engine,
      adapterId: null,
      tasks,
      loopIdFor,
      templates: PLAIN_TEMPLATES,
      selfRefine: { stop: { maxRounds: 2, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true } },
      onStep: async (s) => void steps.push(s),
    });
    expect(r.accuracy).toBe(1);
    expect(r.perTask[0].loop?.stopReason).toBe('no-issues');
    expect(steps.some((s) => s.kind === 'oracle')).toBe(false);
    expect(steps.filter((s) => s.loopId === 'ev/m1').map((s) => s.kind)).toEqual(['draft', 'feedback', 'refinement', 'feedback', 'evaluation']);
    expect(steps.find((s) => s.kind === 'evaluation')).toMatchObject({ refineRound: 1, score: 1, text: '#### 42' });
  });

  it('resumes: finished evaluations are reused, unfinished loops continue', async () => {
    const first: StepRecord[] = [];
    const controller = new AbortController();
    const stop = { maxRounds: 2, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true };
    const opts = { adapterId: null, tasks, loopIdFor, templates: PLAIN_TEMPLATES, selfRefine: { stop } };
    await expect(
      evaluateAccuracy({
        ...opts,
        engine: new ScriptedEngine({ script: actor }),
        signal: controller.signal,
        onStep: async (s) => {
          first.push(s);
          if (first.length === 3) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'aborted' });
    const engine = new ScriptedEngine({ script: actor });
    const second: StepRecord[] = [];
    const r = await evaluateAccuracy({ ...opts, engine, resume: first, onStep: async (s) => void second.push(s) });
    expect(r.accuracy).toBe(1);
    expect([...first, ...second].filter((s) => s.kind === 'evaluation')).toHaveLength(2);
    // Nothing already stored was asked again: 8 loop calls in all, 3 of them before the abort.
    expect(engine.calls).toHaveLength(8 - 3);
  });
});

describe('pairwise judgement', () => {
  it('reads judge verdicts in common shapes', () => {
    expect(parseJudgement('A is clearer.\n[[A]]')).toBe('A');
    expect(parseJudgement('[[B]]')).toBe('B');
    expect(parseJudgement('[[C]]')).toBe('tie');
    expect(parseJudgement('Winner: Response B')).toBe('B');
    expect(parseJudgement('**Better response:** A')).toBe('A');
    expect(parseJudgement('Response A is slightly better overall.')).toBe('A');
    expect(parseJudgement('B')).toBe('B');
    expect(parseJudgement("It's a tie; both are equally good.")).toBe('tie');
    expect(parseJudgement('Response A is better in tone but Response B is better in accuracy.')).toBe('unknown');
    expect(parseJudgement('I cannot decide.')).toBe('unknown');
  });

  it('a win counts only when both orders agree; otherwise it is a tie', () => {
    expect(combineOrders('A', 'B')).toEqual({ outcome: 'first', consistent: true });
    expect(combineOrders('B', 'A')).toEqual({ outcome: 'second', consistent: true });
    expect(combineOrders('A', 'A')).toEqual({ outcome: 'tie', consistent: false }); // position bias
    expect(combineOrders('tie', 'tie')).toEqual({ outcome: 'tie', consistent: true });
    expect(combineOrders('A', 'unknown')).toEqual({ outcome: 'tie', consistent: false });
    expect(winRates(['first', 'first', 'tie', 'second'])).toEqual({ n: 4, wins: 2, ties: 1, losses: 1, winRate: 0.5, tieRate: 0.25, lossRate: 0.25 });
    expect(winRates([]).winRate).toBe(0);
  });

  it('asks the judge in both orders', async () => {
    // A judge that always prefers the longer answer: consistent.
    const fair = new ScriptedEngine({
      script: (req) => {
        const u = req.messages[0].content;
        const a = /\nA: (.*)\nB:/.exec(u)![1];
        const b = /\nB: (.*)$/.exec(u)![1];
        return a.length >= b.length ? 'Verdict: [[A]]' : 'Verdict: [[B]]';
      },
    });
    const j = await judgePair({ judge: fair, prompt: 'P', first: 'a long detailed answer', second: 'short', template: JUDGE });
    expect(j).toMatchObject({ outcome: 'first', consistent: true, choiceFirstAsA: 'A', choiceFirstAsB: 'B' });
    expect(fair.calls.map((c) => c.messages[0].content)).toEqual(['JUDGE P\nA: a long detailed answer\nB: short', 'JUDGE P\nA: short\nB: a long detailed answer']);
    // A judge that always says A: inconsistent, so a tie.
    const biased = new ScriptedEngine({ script: () => '[[A]]' });
    expect(await judgePair({ judge: biased, prompt: 'P', first: 'x', second: 'y', template: JUDGE })).toMatchObject({ outcome: 'tie', consistent: false });
  });
});

describe('base vs adapter side by side', () => {
  it('answers the same prompts with both, checks verifiable ones and judges open ones', async () => {
    const engine = new ScriptedEngine({ script: actor });
    const judge = new ScriptedEngine({
      script: (req) => {
        const u = req.messages[0].content;
        // Prefers the adapter's essay whichever side it is on.
        return /A: An essay \(good\)/.test(u) ? '[[A]]' : '[[B]]';
      },
    });
    const progress: number[] = [];
    const r = await compareSideBySide({ engine, tasks, adapterId: 'good', judge, judgeTemplate: JUDGE, templates: PLAIN_TEMPLATES, onProgress: (d) => progress.push(d) });
    expect(r.baseAccuracy).toBe(0);
    expect(r.adapterAccuracy).toBe(1);
    expect(r.rows.map((x) => [x.taskId, x.baseAnswer, x.adapterAnswer, x.basePass, x.adapterPass])).toEqual([
      ['m1', '#### 41', '#### 42', false, true],
      ['m2', '#### 41', '#### 42', false, true],
      ['o1', 'An essay (base).', 'An essay (good).', null, null],
    ]);
    expect(r.rows[2].judgement?.outcome).toBe('first');
    expect(r.pairwise).toMatchObject({ n: 1, wins: 1, ties: 0, losses: 0 });
    expect(engine.calls.map((c) => c.adapterId)).toEqual([null, null, null, 'good', 'good', 'good']);
    expect(progress[progress.length - 1]).toBe(7);
    // Without a judge there is no pairwise result.
    expect((await compareSideBySide({ engine, tasks, adapterId: 'good', templates: PLAIN_TEMPLATES })).pairwise).toBeNull();
  });
});
