/**
 * The toy evaluation (draft → self-feedback → self-refinement) over a scripted responder whose behaviour is
 * known exactly: a drafter with the habit always on, the program's feedback (or a broken one), and a refiner
 * that copies the feedback's `answer:` line. The measures must come out as that behaviour implies.
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/core/text/types.ts';
import { evaluateToy, TOY_MAX_TOKENS, type ToyAsk } from '../../src/core/toy/evaluate.ts';
import { generateToyData, habitApplies, habitDraft, parseToyQuestion, rightDraft, solveToy, writeToyFeedback } from '../../src/core/toy/index.ts';
import { TOY_CHECK, TOY_FIX } from '../../src/core/toy/prompts.ts';

/** Answers each step like a model that has the habit every time, judged by `feedbackFor`; refines right. */
function scripted(feedbackFor: (question: string, answer: string) => string): { ask: ToyAsk; calls: { n: number; maxTokens: number }[] } {
  const calls: { n: number; maxTokens: number }[] = [];
  const ask: ToyAsk = async (chats: ChatMessage[][], maxTokens: number) => {
    calls.push({ n: chats.length, maxTokens });
    return chats.map((chat) => {
      const text = chat[chat.length - 1].content;
      const lines = text.split('\n');
      if (lines[lines.length - 1] === TOY_FIX) return rightDraft(parseToyQuestion(lines[0])).text;
      if (lines[lines.length - 1] === TOY_CHECK) return feedbackFor(lines[0], lines.slice(1, -1).join('\n'));
      const q = parseToyQuestion(text);
      return ` ${(habitDraft(q) ?? rightDraft(q)).text} `;
    });
  };
  return { ask, calls };
}

describe('evaluateToy', () => {
  const questions = generateToyData({ seed: 11, metaCount: 0, rounds: 0, evalCount: 60 }).eval;
  const habitShare = questions.filter(habitApplies).length / questions.length;

  it('scores a responder with perfect feedback: refinement fixes every habit draft', async () => {
    const { ask, calls } = scripted((q, a) => writeToyFeedback(parseToyQuestion(q), a));
    const r = await evaluateToy(questions, ask);
    expect(habitShare).toBeGreaterThan(0.2);
    expect(r.all.n).toBe(60);
    expect(r.all.direct).toBeCloseTo(1 - habitShare, 10);
    expect(r.habit.direct).toBe(0);
    expect(r.other.direct).toBe(1);
    expect(r.all.refined).toBe(1);
    expect(r.all.verdict).toBe(1);
    expect(r.all.parseOk).toBe(1);
    expect(r.all.caught).toBe(1);
    expect(r.all.fixed).toBe(1);
    // Three batched calls; only the drafts called wrong are refined.
    expect(calls).toEqual([
      { n: 60, maxTokens: TOY_MAX_TOKENS.draft },
      { n: 60, maxTokens: TOY_MAX_TOKENS.feedback },
      { n: r.habit.n, maxTokens: TOY_MAX_TOKENS.refine },
    ]);
    const item = r.items.find((i) => i.habit)!;
    expect(item.draft).toBe(habitDraft(parseToyQuestion(item.question))!.text); // trimmed
    expect(item.refinement).toBe(rightDraft(parseToyQuestion(item.question)).text);
  });

  it('scores a responder whose feedback always says correct: nothing is caught or fixed', async () => {
    const { ask } = scripted((q) => writeToyFeedback(parseToyQuestion(q), solveToy(parseToyQuestion(q))));
    const r = await evaluateToy(questions, ask);
    expect(r.all.refined).toBeCloseTo(r.all.direct, 10);
    expect(r.all.verdict).toBeCloseTo(1 - habitShare, 10);
    expect(r.all.caught).toBe(0);
    expect(Number.isNaN(r.all.fixed)).toBe(true);
    expect(r.items.every((i) => i.refinement === null)).toBe(true);
  });
});
