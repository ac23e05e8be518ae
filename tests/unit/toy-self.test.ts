/**
 * The toy SELF experiment's bookkeeping (src/core/toy/self-experiment.ts, self-summary.ts) over a scripted
 * engine whose behaviour is known: the base "model" drafts with the habit every time; its feedback is the
 * program's; refinements copy the feedback's answer; a trained adapter drafts right. A fake trainer records
 * the rows it gets. The measures, the label-free filter and the table must follow from that behaviour.
 */
import { describe, expect, it } from 'vitest';
import { ScriptedAdapterEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import type { TrainRequest } from '../../src/core/train/trainer.ts';
import { generateToyData, habitApplies, habitDraft, parseToyQuestion, rightDraft, splitOf, writeToyFeedback } from '../../src/core/toy/index.ts';
import { TOY_CHECK, TOY_FIX } from '../../src/core/toy/prompts.ts';
import { runToySelf } from '../../src/core/toy/self-experiment.ts';
import { seedStat } from '../../src/core/stats/seed-stat.ts';
import { formatToySelfTable, toySelfTable } from '../../src/core/toy/self-summary.ts';

/** Replies like a model with the habit (base) or without it (any adapter), with the program's feedback; refines right. */
function reply(request: ChatRequest): string {
  const text = request.messages[request.messages.length - 1].content;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === TOY_FIX) return rightDraft(parseToyQuestion(lines[0])).text;
  if (lines[lines.length - 1] === TOY_CHECK) return writeToyFeedback(parseToyQuestion(lines[0]), lines.slice(1, -1).join('\n'));
  const q = parseToyQuestion(text);
  return request.adapterId ? rightDraft(q).text : (habitDraft(q) ?? rightDraft(q)).text;
}

describe('runToySelf', () => {
  it('measures direct, self-refined and verdict accuracy per round, training on what the model itself calls correct', async () => {
    const engine = new ScriptedAdapterEngine({ script: reply, batch: true });
    const requests: TrainRequest[] = [];
    const trainer = {
      train: async (r: TrainRequest) => {
        requests.push(r);
        return { adapterId: `adapter-${requests.length}`, metrics: { loss: 0.1 } };
      },
    };
    let t = 0;
    const res = await runToySelf({ engine, trainer, trainConfig: { lr: 1 }, seed: 4, rounds: 2, perRound: 30, evalCount: 40, shapes: ['sft'], metaMix: { feedback: 5, refine: 2 }, now: () => (t += 10) });
    const data = generateToyData({ seed: 4, metaCount: 0, rounds: 2, perRound: 30, evalCount: 40 });
    const habitShare = data.eval.filter(habitApplies).length / 40;

    expect(res.rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(res.rounds[0].adapterId).toBeNull();
    expect(res.rounds[0].direct).toBeCloseTo(1 - habitShare, 10);
    expect(res.rounds[0].refined).toBe(1);
    expect(res.rounds[0].verdict).toBe(1);
    expect(res.rounds[0].caught).toBe(1);
    expect(res.rounds[0].falseAlarm).toBe(0);
    expect(Number.isNaN(res.rounds[1].caught)).toBe(true); // no wrong draft left to catch
    // The critic probe's varied drafts always have wrong ones: this critic (the program's) catches them every round.
    expect(res.rounds.map((r) => [r.probeCaught, r.probeFalseAlarm])).toEqual([[1, 0], [1, 0], [1, 0]]);
    expect(res.rounds[1].direct).toBe(1);
    expect(res.rounds[2].adapterId).toBe('adapter-2');

    // Round 1 trains on its 30 new questions, question → final answer, starting from the base model;
    // round 2 on the next 30, continuing round 1's adapter. No held-out question is ever trained on.
    expect(requests.map((r) => r.fromAdapterId)).toEqual([null, 'adapter-1']);
    const all = requests.map((r) => r.rows.map((row) => ('messages' in row ? row.messages : [])));
    // Each round's rows: its 30 loops, then 5 + 2 meta-skill chats mixed in (annotator feedback and refine
    // chats of meta-split questions: no round or held-out question), fresh ones each round.
    expect(all.map((rows) => rows.length)).toEqual([37, 37]);
    const trained = all.map((rows) => rows.slice(0, 30));
    const replayed = all.flatMap((rows) => rows.slice(30));
    expect(replayed.filter((m) => m[0].content.endsWith(TOY_CHECK))).toHaveLength(10);
    expect(replayed.filter((m) => m[0].content.endsWith(TOY_FIX))).toHaveLength(4);
    for (const m of replayed) expect(splitOf(m[0].content.split('\n')[0])).toBe('meta');
    const mixQuestions = all.map((rows) => rows.slice(30).map((m) => m[0].content.split('\n')[0]));
    expect(mixQuestions[0].some((q) => mixQuestions[1].includes(q))).toBe(false);
    const questions = trained[0].map((m) => m[0].content);
    expect(new Set(questions)).toEqual(new Set(data.rounds[0].map((q) => q.text)));
    for (const m of trained[0]) expect(m[m.length - 1].content).toBe(rightDraft(parseToyQuestion(m[0].content)).text);
    expect(trained[1].map((m) => m[0].content).sort()).toEqual(data.rounds[1].map((q) => q.text).sort());
    const evalTexts = new Set(data.eval.map((q) => q.text));
    expect(all.flat().some((m) => evalTexts.has(m[0].content.split('\n')[0]))).toBe(false);
    expect(res.rounds[1].collect).toMatchObject({ loops: 30, kept: 30, rows: 30 });
    expect(res.rounds[1].seconds.total).toBeGreaterThan(0);
    expect(res.rounds[1].seconds.total).toBeCloseTo(res.rounds[1].seconds.collect + res.rounds[1].seconds.train + res.rounds[1].seconds.evaluate, 10);

    const table = toySelfTable([res, res]);
    const row = (key: string) => table.rows.find((r) => r.key === key)!.stat;
    expect(row('direct.r0').mean).toBeCloseTo(100 * (1 - habitShare), 8);
    expect(row('gain.r1').mean).toBeCloseTo(100 * habitShare, 8);
    expect(row('kept.r1').values).toEqual([30, 30]);
    expect(formatToySelfTable(table)).toContain('direct-answer accuracy, after round 2');
  });

  it('also trains on its own feedback and refinement calls of the loops it fixed, as sent and as answered (the default)', async () => {
    const engine = new ScriptedAdapterEngine({ script: reply, batch: true });
    const requests: TrainRequest[] = [];
    const trainer = {
      train: async (r: TrainRequest) => {
        requests.push(r);
        return { adapterId: `adapter-${requests.length}`, metrics: {} };
      },
    };
    await runToySelf({ engine, trainer, trainConfig: {}, seed: 4, rounds: 1, perRound: 30, evalCount: 10, metaMix: { feedback: 0, refine: 0 } });
    const data = generateToyData({ seed: 4, metaCount: 0, rounds: 1, perRound: 30, evalCount: 10 });
    const fixed = data.rounds[0].filter(habitApplies);
    const rows = requests[0].rows.map((row) => ('messages' in row ? row.messages : []));
    const drafts = rows.filter((m) => !m[0].content.includes('\n'));
    const feedback = rows.filter((m) => m[0].content.endsWith(TOY_CHECK));
    const refine = rows.filter((m) => m[0].content.endsWith(TOY_FIX));
    expect(drafts).toHaveLength(30);
    // Per fixed loop: the feedback on the habit draft, the refinement, and the feedback that passed it.
    expect(refine).toHaveLength(fixed.length);
    expect(feedback).toHaveLength(2 * fixed.length);
    for (const m of refine) {
      const q = parseToyQuestion(m[0].content.split('\n')[0]);
      expect(m[0].content).toBe(`${q.text}\n${habitDraft(q)!.text}\n${writeToyFeedback(q, habitDraft(q)!.text)}\n${TOY_FIX}`);
      expect(m[1].content).toBe(rightDraft(q).text);
    }
    expect(feedback.filter((m) => m[1].content.endsWith('Verdict: wrong'))).toHaveLength(fixed.length);
  });

  it('drops loops whose final answer the model itself calls wrong, without looking at the truth', async () => {
    // Feedback that always says "wrong" (and names a digit), refinements that never change: nothing is kept.
    const engine = new ScriptedAdapterEngine({
      batch: true,
      script: (request) => {
        const text = request.messages[request.messages.length - 1].content;
        const lines = text.split('\n');
        if (lines[lines.length - 1] === TOY_CHECK) return 'ones: 1+1+0=2, so 2; draft 3, should be 2\nanswer: 2\nVerdict: wrong';
        if (lines[lines.length - 1] === TOY_FIX) return '2';
        return '2';
      },
    });
    const requests: TrainRequest[] = [];
    const trainer = {
      train: async (r: TrainRequest) => {
        requests.push(r);
        return { adapterId: 'x', metrics: {} };
      },
    };
    const res = await runToySelf({ engine, trainer, trainConfig: {}, seed: 2, rounds: 1, perRound: 10, evalCount: 10, metaMix: { feedback: 0, refine: 0 } });
    expect(requests).toHaveLength(0);
    expect(res.rounds[1].train).toMatchObject({ skipped: true, rows: 0 });
    expect(res.rounds[1].adapterId).toBeNull();
  });
});

describe('seedStat', () => {
  it('gives mean, sample standard deviation and range', () => {
    const s = seedStat([10, 20, 30]);
    expect(s.mean).toBe(20);
    expect(s.std).toBe(10);
    expect([s.min, s.max]).toEqual([10, 30]);
    expect(seedStat([5]).std).toBe(0);
  });
});
