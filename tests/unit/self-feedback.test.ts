/**
 * Self-feedback accuracy (src/core/refine/self-feedback.ts), the one measure the SELF round's evaluation, the
 * Evaluation tab and the toy bench all report: the model's own verdict on its draft against the checker.
 */
import { describe, expect, it } from 'vitest';
import { kindRegistry } from '../../src/core/refine/kinds.ts';
import { selfFeedbackStats } from '../../src/core/refine/self-feedback.ts';
import type { ParsedFeedback, StepRecord } from '../../src/core/refine/types.ts';
import { generateToyData, judgeToyFeedback, sloppyDraft, ToyRng, writeToyFeedback } from '../../src/core/toy/index.ts';
import { toyKindRegistry, toyTasks } from '../../src/core/toy/kind.ts';
import { parseToyFeedback } from '../../src/core/toy/parse-feedback.ts';

const base = { evolutionRound: 1, refineRound: 0, prompt: [], score: null, promptTokens: 0, completionTokens: 0, startedAt: 0, durationMs: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0, seed: 0, engine: 'tfjs' as const, modelId: 'm', adapterId: null, source: 'self' as const };

/** A self-refine loop's draft and its first feedback, as the loop stores them. */
function loop(loopId: string, taskId: string, draft: string, feedbackText: string, feedback: ParsedFeedback | null): StepRecord[] {
  return [
    { ...base, taskId, loopId, kind: 'draft', text: draft, feedback: null, parseStatus: 'n/a' },
    { ...base, taskId, loopId, kind: 'feedback', text: feedbackText, feedback, parseStatus: feedback ? 'ok' : 'unparsed' },
  ];
}

describe('self-feedback accuracy', () => {
  it('counts the own verdict on the draft against the checker; unreadable verdicts count as misses', () => {
    const tasks = new Map([['t1', { id: 't1', kind: 'math', prompt: 'p', answer: 42, split: 'eval' as const, source: 'builtin' as const }]]);
    const fb = (verdict: 'correct' | 'incorrect'): ParsedFeedback => ({ weaknesses: [], suggestions: [], score: null, verdict, noIssues: verdict === 'correct' });
    const steps = [
      ...loop('a', 't1', '#### 42', 'fb', fb('correct')),
      ...loop('b', 't1', '#### 41', 'fb', fb('incorrect')),
      ...loop('c', 't1', '#### 41', 'fb', fb('correct')),
      ...loop('d', 't1', '#### 42', 'fb', null),
      // A later feedback of the same draft (an oracle line, or a second critique) does not count.
      { ...loop('a', 't1', '#### 42', 'fb', fb('incorrect'))[1] },
    ];
    expect(selfFeedbackStats(steps, tasks, kindRegistry)).toEqual({ n: 4, matches: 2, accuracy: 0.5, caught: 0.5, falseAlarm: 0 });
    expect(selfFeedbackStats([], tasks, kindRegistry)).toEqual({ n: 0, matches: 0, accuracy: null, caught: null, falseAlarm: null });
  });

  it('on toy loops it counts exactly what the toy judge of a feedback counts', () => {
    const questions = generateToyData({ seed: 3, metaCount: 0, rounds: 0, evalCount: 120 }).eval;
    const tasks = toyTasks(questions, 'eval');
    const rng = new ToyRng(5, 'self-feedback-test');
    const steps: StepRecord[] = [];
    const tally = { n: 0, matches: 0, wrong: 0, caught: 0, right: 0, alarms: 0 };
    questions.forEach((q, i) => {
      const draft = sloppyDraft(q, rng).text;
      // Right feedback, feedback with the verdict flipped, and unreadable feedback.
      const right = writeToyFeedback(q, draft);
      const text = i % 3 === 0 ? right : i % 3 === 1 ? right.replace(/Verdict: (\w+)/, (_, v: string) => `Verdict: ${v === 'correct' ? 'wrong' : 'correct'}`) : 'no idea';
      const parsed = parseToyFeedback(text);
      steps.push(...loop(`l${i}`, tasks[i].id, draft, text, parsed.feedback));
      const j = judgeToyFeedback(q, draft, text);
      tally.n++;
      if (j.matches) tally.matches++;
      if (j.truth === 'incorrect') {
        tally.wrong++;
        if (j.claimed === 'incorrect') tally.caught++;
      } else {
        tally.right++;
        if (j.claimed === 'incorrect') tally.alarms++;
      }
    });
    expect(tally.wrong).toBeGreaterThan(10);
    expect(tally.right).toBeGreaterThan(10);
    expect(selfFeedbackStats(steps, new Map(tasks.map((t) => [t.id, t])), toyKindRegistry())).toEqual({
      n: tally.n,
      matches: tally.matches,
      accuracy: tally.matches / tally.n,
      caught: tally.caught / tally.wrong,
      falseAlarm: tally.alarms / tally.right,
    });
  });
});
