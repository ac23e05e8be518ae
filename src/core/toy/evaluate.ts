/**
 * The toy model's pass/fail measures on held-out questions, through any batched chat function (the runtime's
 * generateBatch, or a ChatEngine with an adapter), greedy:
 *
 *   direct    the draft alone is right
 *   refined   draft → the model's own feedback → (verdict wrong) the model's own refinement, else the draft
 *   verdict   the model's verdict on its own draft matches the truth (self-feedback accuracy)
 *   parse ok  the feedback parses cleanly (`parseToyFeedback(...).parseStatus === 'ok'`)
 *   caught    of the wrong drafts, the share the model's feedback called wrong
 *   fixed     of the drafts the feedback called wrong, the share whose refinement is right
 *
 * Each measure is also split by whether the drafter's habit can fire on the question (habitApplies), which is
 * where a SELF round should gain. Only this evaluation calls the checker: the loop itself uses no labels.
 */
import type { ChatMessage } from '../text/types.ts';
import { judgeToyFeedback, checkToyAnswer } from './check.ts';
import { habitApplies } from './drafter.ts';
import { parseToyFeedback } from './parse-feedback.ts';
import { toyPrompts } from './prompts.ts';
import type { ToyQuestion } from './question.ts';

/** Answers a list of chats (greedy), in order. `maxTokens` bounds each reply. */
export type ToyAsk = (chats: ChatMessage[][], maxTokens: number) => Promise<string[]>;

/** Longest reply each step needs: a working (draft, refinement) is ≤ 5 lines of ≤ 16 tokens; a feedback ≤ ~130. */
export const TOY_MAX_TOKENS = { draft: 96, feedback: 176, refine: 96 } as const;

export interface ToyItemResult {
  question: string;
  habit: boolean;
  draft: string;
  feedback: string;
  /** The refinement, or null when the feedback said the draft was correct (or had no verdict). */
  refinement: string | null;
  /** The final answer of the draft → feedback → refine pass. */
  final: string;
  draftRight: boolean;
  finalRight: boolean;
  verdictMatches: boolean;
  claimedWrong: boolean;
  parseOk: boolean;
}

export interface ToyScores {
  n: number;
  direct: number;
  refined: number;
  verdict: number;
  parseOk: number;
  /** Of wrong drafts, share called wrong (NaN when no draft was wrong). */
  caught: number;
  /** Of drafts called wrong, share whose refinement is right (NaN when none was called wrong). */
  fixed: number;
}

export interface ToyEvalReport {
  all: ToyScores;
  habit: ToyScores;
  other: ToyScores;
  items: ToyItemResult[];
}

const share = (xs: readonly boolean[]): number => (xs.length === 0 ? NaN : xs.filter(Boolean).length / xs.length);

export function toyScores(items: readonly ToyItemResult[]): ToyScores {
  const wrong = items.filter((i) => !i.draftRight);
  const called = items.filter((i) => i.claimedWrong);
  return {
    n: items.length,
    direct: share(items.map((i) => i.draftRight)),
    refined: share(items.map((i) => i.finalRight)),
    verdict: share(items.map((i) => i.verdictMatches)),
    parseOk: share(items.map((i) => i.parseOk)),
    caught: share(wrong.map((i) => i.claimedWrong)),
    fixed: share(called.map((i) => i.finalRight)),
  };
}

/** Runs the three steps over all questions, each step as one batched call. */
export async function evaluateToy(questions: readonly ToyQuestion[], ask: ToyAsk): Promise<ToyEvalReport> {
  const texts = questions.map((q) => q.text);
  const drafts = (await ask(texts.map((q) => toyPrompts.draft(q)), TOY_MAX_TOKENS.draft)).map((d) => d.trim());
  const feedbacks = await ask(
    texts.map((q, i) => toyPrompts.feedback(q, drafts[i])),
    TOY_MAX_TOKENS.feedback,
  );
  const parses = feedbacks.map(parseToyFeedback);
  const needsFix = parses.map((p) => p.feedback?.verdict === 'incorrect');
  const fixIdx = needsFix.flatMap((w, i) => (w ? [i] : []));
  const fixes = await ask(
    fixIdx.map((i) => toyPrompts.refine(texts[i], drafts[i], feedbacks[i])),
    TOY_MAX_TOKENS.refine,
  );
  const refinements: (string | null)[] = questions.map(() => null);
  fixIdx.forEach((i, k) => (refinements[i] = fixes[k].trim()));

  const items: ToyItemResult[] = questions.map((q, i) => {
    const final = refinements[i] ?? drafts[i];
    return {
      question: q.text,
      habit: habitApplies(q),
      draft: drafts[i],
      feedback: feedbacks[i],
      refinement: refinements[i],
      final,
      draftRight: checkToyAnswer(q, drafts[i]),
      finalRight: checkToyAnswer(q, final),
      verdictMatches: judgeToyFeedback(q, drafts[i], feedbacks[i]).matches,
      claimedWrong: needsFix[i],
      parseOk: parses[i].parseStatus === 'ok',
    };
  });
  return {
    all: toyScores(items),
    habit: toyScores(items.filter((i) => i.habit)),
    other: toyScores(items.filter((i) => !i.habit)),
    items,
  };
}
