/** Checkers: grade an answer, and grade a feedback's verdict against the truth (self-feedback accuracy). */
import type { Verdict } from '../refine/types.ts';
import { solveToy } from './columns.ts';
import { extractToyAnswer, placeName } from './feedback.ts';
import { parseToyFeedback } from './parse-feedback.ts';
import { digitAt, parseToyQuestion } from './question.ts';
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

/** A check result shaped like the task registry's CheckResult; it never reveals the expected answer. */
export interface ToyCheck {
  pass: boolean;
  /** One line a person (or the model, as oracle feedback) can act on. */
  message: string;
  /** Each wrong place, e.g. "the tens digit is wrong"; empty when `pass`. */
  failures: string[];
  /** Share of digit places that are right (0 when the answer isn't a number). */
  fraction: number;
}

/** Grades an answer place by place, naming wrong places but never the right digits. */
export function checkToyDetailed(question: ToyQuestion | string, answerText: string): ToyCheck {
  const q = asQuestion(question);
  const right = solveToy(q);
  const got = extractToyAnswer(answerText);
  if (got === null) {
    return { pass: false, message: 'The answer is not a whole number: write only the number.', failures: ['not a number'], fraction: 0 };
  }
  const width = Math.max(right.length, got.length);
  const failures: string[] = [];
  for (let place = 0; place < width; place++) {
    if (digitAt(got, place) !== digitAt(right, place)) failures.push(`the ${placeName(place)} digit is wrong`);
  }
  if (failures.length === 0) return { pass: true, message: 'The answer is right.', failures, fraction: 1 };
  return {
    pass: false,
    message: `The answer is wrong: ${failures.join(', ')}.`,
    failures,
    fraction: (width - failures.length) / width,
  };
}
