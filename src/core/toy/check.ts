/** Checkers: grade an answer, and grade a feedback's verdict against the truth (self-feedback accuracy). */
import type { Verdict } from '../refine/types.ts';
import { solveToy } from './columns.ts';
import { extractToyAnswer } from './feedback.ts';
import { parseToyFeedback } from './parse-feedback.ts';
import { parseToyQuestion } from './question.ts';
import type { ToyQuestion } from './question.ts';

function asQuestion(q: ToyQuestion | string): ToyQuestion {
  return typeof q === 'string' ? parseToyQuestion(q) : q;
}

/**
 * True when the text is exactly the right answer: a whole number (surrounding whitespace and leading zeros
 * are forgiven, nothing else). Throws a `bad-input` AppError when the question isn't a toy question.
 */
export function checkToyAnswer(question: ToyQuestion | string, text: string): boolean {
  const q = asQuestion(question);
  const got = extractToyAnswer(text);
  return got !== null && got === solveToy(q);
}

export interface FeedbackJudgement {
  /** What the feedback claims about the answer ('unknown' when it has no usable verdict). */
  claimed: Verdict;
  /** What is true about the answer. */
  truth: 'correct' | 'incorrect';
  /** The claim equals the truth; false when the claim is 'unknown'. */
  matches: boolean;
  parseStatus: 'ok' | 'partial' | 'unparsed';
}

/** Grades a feedback's verdict on an answer against the truth (the self-feedback accuracy metric). */
export function judgeToyFeedback(question: ToyQuestion | string, answerText: string, feedbackText: string): FeedbackJudgement {
  const q = asQuestion(question);
  const truth = checkToyAnswer(q, answerText) ? 'correct' : 'incorrect';
  const parsed = parseToyFeedback(feedbackText);
  const claimed: Verdict = parsed.feedback?.verdict ?? 'unknown';
  return { claimed, truth, matches: claimed === truth, parseStatus: parsed.parseStatus };
}
