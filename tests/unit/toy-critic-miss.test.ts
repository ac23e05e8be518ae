import { describe, expect, it } from 'vitest';
import { criticMissRows } from '../../src/core/toy/critic-miss-mix.ts';
import { CRITIC_PROBE_SIZE, criticProbeSeed, probeToyCritic } from '../../src/core/toy/critic-probe.ts';
import { referenceReply } from '../../src/core/toy/reference-critic.ts';
import { generateToyData } from '../../src/core/toy/generate.ts';
import { parseToyFeedback } from '../../src/core/toy/parse-feedback.ts';
import { ScriptedEngine } from './scripted-engine.ts';

// The pool criticMissRows draws for a seed (the same call as the module's), with the annotator's verdicts.
const pool = (seed: number, n: number) => generateToyData({ seed, metaCount: n, refineShare: 1, rounds: 0, evalCount: 0 }).meta;
const wrongOf = (items: ReturnType<typeof pool>) => items.map((ex) => parseToyFeedback(ex.feedback).feedback?.verdict === 'incorrect');

describe('criticMissRows (meta-skill rows where the critic is wrong)', () => {
  it('a critic that passes everything: every wrong draft becomes a feedback and a refine row, no right draft does', async () => {
    const items = pool(5, 40);
    const wrong = wrongOf(items);
    const nWrong = wrong.filter(Boolean).length;
    expect(nWrong).toBeGreaterThan(0);
    expect(nWrong).toBeLessThan(40);
    const engine = new ScriptedEngine({ script: () => 'answer: 1\nVerdict: correct', modelId: 'toy-arith' });
    const res = await criticMissRows({ engine, adapterId: 'a1', pool: 40, seed: 5 });
    expect(res).toMatchObject({ wrong: nWrong, missed: nWrong, right: 40 - nWrong, falseAlarms: 0 });
    expect(res.rows).toHaveLength(2 * nWrong);
    // Targets are the annotator's: its feedback on the reviewed draft, then its refinement.
    const firstWrong = items[wrong.indexOf(true)];
    expect(res.rows[0].messages).toEqual(firstWrong.chats.feedback);
    expect(res.rows[1].messages).toEqual(firstWrong.chats.refine);
    // The critic was asked with the feedback prompt only, on the given adapter, greedily.
    expect(engine.calls).toHaveLength(40);
    expect(engine.calls[0].messages).toEqual(items[0].chats.feedback.slice(0, -1));
    expect(engine.calls[0]).toMatchObject({ adapterId: 'a1', temperature: 0 });
  });

  it('a critic that agrees with the annotator adds nothing; one that calls everything wrong adds the right drafts as false alarms', async () => {
    const items = pool(6, 30);
    const byPrompt = new Map(items.map((ex) => [ex.chats.feedback[0].content, ex.feedback]));
    const agree = new ScriptedEngine({ script: (r) => byPrompt.get(r.messages[0].content) ?? '', modelId: 'toy-arith' });
    expect((await criticMissRows({ engine: agree, adapterId: null, pool: 30, seed: 6 })).rows).toEqual([]);
    const nRight = wrongOf(items).filter((w) => !w).length;
    const alarm = new ScriptedEngine({ script: () => 'answer: 1\nVerdict: wrong', modelId: 'toy-arith' });
    const res = await criticMissRows({ engine: alarm, adapterId: null, pool: 30, seed: 6 });
    expect(res).toMatchObject({ missed: 0, falseAlarms: nRight, noVerdict: 0 });
    expect(res.rows).toHaveLength(nRight);
  });
});

describe('probeToyCritic (the critic probe: the feedback skill on the same varied drafts every round)', () => {
  it('reads only the verdicts: a perfect critic catches all and raises no alarm, a silent one catches none', async () => {
    const items = pool(criticProbeSeed(3), CRITIC_PROBE_SIZE);
    const nWrong = wrongOf(items).filter(Boolean).length;
    expect(nWrong).toBeGreaterThan(40);
    expect(nWrong).toBeLessThan(CRITIC_PROBE_SIZE - 40);
    const perfect = new ScriptedEngine({ script: (r) => referenceReply(r.messages), modelId: 'toy-arith' });
    expect(await probeToyCritic({ engine: perfect, adapterId: 'a2', seed: 3 })).toEqual({ caught: 1, falseAlarm: 0, wrong: nWrong, right: CRITIC_PROBE_SIZE - nWrong });
    expect(perfect.calls[0]).toMatchObject({ adapterId: 'a2', temperature: 0 });
    const silent = new ScriptedEngine({ script: () => 'answer: 1\nVerdict: correct', modelId: 'toy-arith' });
    expect(await probeToyCritic({ engine: silent, adapterId: null, seed: 3 })).toMatchObject({ caught: 0, falseAlarm: 0 });
    // A critic that writes no verdict (e.g. a working instead of a check) catches nothing and claims nothing wrong.
    const mute = new ScriptedEngine({ script: () => 'ones: 1+2+0=3, so 3', modelId: 'toy-arith' });
    expect(await probeToyCritic({ engine: mute, adapterId: null, seed: 3 })).toMatchObject({ caught: 0, falseAlarm: 0 });
    expect(await criticMissRows({ engine: mute, adapterId: null, pool: CRITIC_PROBE_SIZE, seed: criticProbeSeed(3) })).toMatchObject({ falseAlarms: CRITIC_PROBE_SIZE - nWrong, noVerdict: CRITIC_PROBE_SIZE - nWrong });
    // Another experiment seed is another set of drafts; the probe's seeds are apart from the critic pools'.
    expect(criticProbeSeed(4)).not.toBe(criticProbeSeed(3));
    expect(criticProbeSeed(0)).toBeGreaterThanOrEqual(900_000);
  });
});
