/**
 * SRT on the toy world (src/core/toy/srt-experiment.ts) with the reference critic (reference-critic.ts) over a
 * scripted actor whose behaviour is known: the base model drafts with the habit and copies the program's
 * feedback; any adapter drafts right. A fake trainer records the rows. The critic's rows, the ablation without
 * feedback, the DPO pairs and the scores must follow from that.
 */
import { describe, expect, it } from 'vitest';
import { ScriptedAdapterEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { AppError } from '../../src/core/errors.ts';
import type { TrainRequest } from '../../src/core/train/trainer.ts';
import { generateToyData, habitApplies, habitDraft, parseToyQuestion, rightDraft, writeToyFeedback } from '../../src/core/toy/index.ts';
import { TOY_CHECK, TOY_FIX, toyPrompts } from '../../src/core/toy/prompts.ts';
import { ReferenceCritic, referenceReply, REFERENCE_CRITIC_ID } from '../../src/core/toy/reference-critic.ts';
import { runToySrt } from '../../src/core/toy/srt-experiment.ts';

function actor(request: ChatRequest): string {
  const lines = request.messages[request.messages.length - 1].content.split('\n');
  const q = parseToyQuestion(lines[0]);
  if (lines[lines.length - 1] === TOY_FIX) return rightDraft(q).text;
  if (lines[lines.length - 1] === TOY_CHECK) return writeToyFeedback(q, lines.slice(1, -1).join('\n'));
  return request.adapterId ? rightDraft(q).text : (habitDraft(q) ?? rightDraft(q)).text;
}

describe('the reference critic', () => {
  it('writes the annotator feedback and the right working, labelled as a program', async () => {
    const q = parseToyQuestion('347 + 285');
    const draft = habitDraft(q)!.text;
    expect(referenceReply(toyPrompts.feedback(q.text, draft))).toBe(writeToyFeedback(q, draft));
    expect(referenceReply(toyPrompts.refine(q.text, draft, 'anything'))).toBe(rightDraft(q).text);
    const critic = new ReferenceCritic();
    await expect(critic.chat({ messages: toyPrompts.feedback(q.text, draft) })).rejects.toThrow(/Load the reference critic/);
    await expect(critic.load('gpt-4')).rejects.toThrow(AppError);
    await critic.load(REFERENCE_CRITIC_ID);
    const [a, b] = await critic.chatBatch([{ messages: toyPrompts.feedback(q.text, draft) }, { messages: toyPrompts.feedback(q.text, rightDraft(q).text) }]);
    expect(a.text.endsWith('Verdict: wrong')).toBe(true);
    expect(b.text.endsWith('Verdict: correct')).toBe(true);
    expect(a.usage.approximate).toBe(true);
  });

  it('refuses what it cannot check: a draft prompt, another kind of task, a non-toy question', () => {
    expect(() => referenceReply(toyPrompts.draft('347 + 285'))).toThrow(/only checks and corrects/);
    expect(() => referenceReply([{ role: 'user', content: 'What is 2+2?\n4\nCheck it column by column.' }])).toThrow(AppError);
    expect(() => referenceReply([{ role: 'user', content: 'Write a poem.' }])).toThrow(AppError);
  });
});

describe('runToySrt', () => {
  it('trains SFT on the critic feedback then refinement (or the refinement only), then DPO, and scores each adapter', async () => {
    const engine = new ScriptedAdapterEngine({ script: actor, batch: true });
    const critic = new ReferenceCritic();
    await critic.load(REFERENCE_CRITIC_ID);
    const requests: TrainRequest[] = [];
    const trainer = {
      train: async (r: TrainRequest) => {
        requests.push(r);
        return { adapterId: `adapter-${requests.length}`, metrics: { loss: 0.1 } };
      },
    };
    const res = await runToySrt({ actor: engine, critic, trainer, sftConfig: { kind: 'sft' }, dpoConfig: { kind: 'dpo' }, seed: 6, rounds: 2, perRound: 15, evalCount: 20 });
    const data = generateToyData({ seed: 6, metaCount: 0, rounds: 2, perRound: 15, evalCount: 20 });
    const fixable = data.rounds.flat().filter(habitApplies);
    const habitShare = data.eval.filter(habitApplies).length / 20;

    expect(res.base.direct).toBeCloseTo(1 - habitShare, 10);
    expect(res.base.refined).toBe(1);
    expect(res.base.caught).toBe(1);
    expect(res.runs.map((r) => r.variant)).toEqual(['feedback', 'refine-only']);
    // Per variant: SFT from the base model, then DPO from the SFT adapter.
    expect(requests.map((r) => [r.method, r.fromAdapterId, r.config])).toEqual([
      ['sft', null, { kind: 'sft' }],
      ['dpo', 'adapter-1', { kind: 'dpo' }],
      ['sft', null, { kind: 'sft' }],
      ['dpo', 'adapter-3', { kind: 'dpo' }],
    ]);
    const users = (r: TrainRequest) => r.rows.map((row) => ('messages' in row ? row.messages[0].content : ''));
    // Feedback variant: per fixed draft, the critic's feedback call, its refine call and its feedback on that.
    const fb = users(requests[0]);
    expect(fb.filter((u) => u.endsWith(TOY_CHECK))).toHaveLength(2 * fixable.length);
    expect(fb.filter((u) => u.endsWith(TOY_FIX))).toHaveLength(fixable.length);
    // Ablation: the refine call without the feedback text.
    const only = requests[2].rows.map((row) => ('messages' in row ? row.messages : []));
    expect(only).toHaveLength(fixable.length);
    for (const m of only) {
      const q = parseToyQuestion(m[0].content.split('\n')[0]);
      expect(m[0].content).toBe(`${q.text}\n${habitDraft(q)!.text}\n\n${TOY_FIX}`);
      expect(m[1].content).toBe(rightDraft(q).text);
    }
    // DPO: refined ≻ draft for every fixed draft.
    expect(requests[1].rows).toHaveLength(fixable.length);
    for (const r of res.runs) {
      expect(r).toMatchObject({ loops: 30, kept: fixable.length, preferencePairs: fixable.length });
      expect(r.sft.direct).toBe(1); // the scripted adapter drafts right
      expect(r.dpo.direct).toBe(1);
      expect(Number.isNaN(r.sft.caught)).toBe(true); // nothing left to catch
      expect(r.sft.falseAlarm).toBe(0);
    }
    // No held-out question is trained on.
    const evalTexts = new Set(data.eval.map((q) => q.text));
    for (const r of requests) for (const u of users(r)) expect(evalTexts.has(u.split('\n')[0])).toBe(false);
  });
});
