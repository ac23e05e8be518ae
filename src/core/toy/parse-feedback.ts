/**
 * Reads a feedback text in the toy format (see feedback.ts) back into structure. Model output is untrusted
 * and may be slightly broken: whitespace and case are forgiven, unknown lines are noted, and the verdict
 * line decides the verdict. No verdict line (or two that disagree) means the feedback can't be used.
 */
import type { ParsedFeedback } from '../refine/types.ts';
import { NOT_A_NUMBER_LINE, placeOfName } from './feedback.ts';
import { canonicalDigits } from './question.ts';

export interface ToyFeedbackColumn {
  placeName: string;
  /** The place the name stands for, or null for an unknown name. */
  place: number | null;
  /** The column's value as written (a sum, or a difference). */
  value: number;
  /** The answer so far, as written on this line. */
  soFar: string;
  /** The draft's digit in this place, as written; null when the line has no draft part. */
  draftDigit: number | null;
  /** The digit named by `should be`, or null when the line says `ok` or has no draft part. */
  shouldBe: number | null;
}

export interface ToyFeedbackDetail {
  columns: ToyFeedbackColumn[];
  /** The corrected answer from the `answer:` line (canonical digits), or null when missing. */
  answer: string | null;
  /** The first column (from the ones leftwards) that names a wrong digit (a `should be` that differs from the draft's). */
  firstWrong: ToyFeedbackColumn | null;
  notANumber: boolean;
  /**
   * A bare number on the line right after the verdict (a model trained on "feedback, then the corrected
   * answer" completions writes one); canonical digits, or null.
   */
  trailingAnswer: string | null;
  /** Lines that matched no part of the format (trimmed, empty lines skipped). */
  unrecognized: string[];
}

export interface ToyFeedbackParse {
  parseStatus: 'ok' | 'partial' | 'unparsed';
  /** Null when unparsed. */
  feedback: ParsedFeedback | null;
  detail: ToyFeedbackDetail;
}

const COLUMN_RE =
  /^([a-z0-9^-]+)\s*:\s*(\d)\s*([+-])\s*(\d)\s*([+-])\s*(\d)\s*=\s*(-?\d+)\s*,\s*so\s+(\d+)\s*(?:;\s*draft\s+(\d)\s*(?:(ok)|,\s*should\s+be\s+(\d)))?\s*\.?$/i;
const ANSWER_RE = /^answer\s*:\s*(\d+)\s*\.?$/i;
const VERDICT_RE = /^verdict\s*:\s*(correct|wrong|incorrect)\s*\.?$/i;
/** Longer lines are never part of the format; skipping them keeps the regexes linear on hostile input. */
const MAX_LINE_CHARS = 200;

export function parseToyFeedback(text: string): ToyFeedbackParse {
  const detail: ToyFeedbackDetail = {
    columns: [],
    answer: null,
    firstWrong: null,
    notANumber: false,
    trailingAnswer: null,
    unrecognized: [],
  };
  const verdicts: ('correct' | 'incorrect')[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.length > MAX_LINE_CHARS) {
      detail.unrecognized.push(`${line.slice(0, 40)}…`);
      continue;
    }
    const v = VERDICT_RE.exec(line);
    if (v) {
      verdicts.push(v[1].toLowerCase() === 'correct' ? 'correct' : 'incorrect');
      continue;
    }
    if (verdicts.length > 0) {
      // After the verdict only one bare number is allowed; anything else is not part of the format.
      if (detail.trailingAnswer === null && detail.unrecognized.length === 0 && /^\d+$/.test(line)) {
        detail.trailingAnswer = canonicalDigits(line);
      } else {
        detail.unrecognized.push(line);
      }
      continue;
    }
    const c = COLUMN_RE.exec(line);
    if (c) {
      const name = c[1].toLowerCase();
      const col: ToyFeedbackColumn = {
        placeName: name,
        place: placeOfName(name),
        value: Number(c[7]),
        soFar: c[8],
        draftDigit: c[9] === undefined ? null : Number(c[9]),
        shouldBe: c[11] === undefined ? null : Number(c[11]),
      };
      detail.columns.push(col);
      if (col.shouldBe !== null && col.shouldBe !== col.draftDigit && detail.firstWrong === null) detail.firstWrong = col;
      continue;
    }
    const a = ANSWER_RE.exec(line);
    if (a) {
      detail.answer = canonicalDigits(a[1]);
      continue;
    }
    if (line.toLowerCase() === NOT_A_NUMBER_LINE.toLowerCase()) {
      detail.notANumber = true;
      continue;
    }
    detail.unrecognized.push(line);
  }

  const distinct = new Set(verdicts);
  if (distinct.size !== 1) return { parseStatus: 'unparsed', feedback: null, detail };
  const verdict = verdicts[0];

  const weaknesses: string[] = [];
  if (detail.notANumber) weaknesses.push(NOT_A_NUMBER_LINE);
  for (const col of detail.columns) {
    // "draft 2, should be 2" names no problem: nothing to fix there.
    if (col.shouldBe !== null && col.shouldBe !== col.draftDigit) {
      weaknesses.push(`${col.placeName} digit is ${col.draftDigit}, should be ${col.shouldBe}`);
    }
  }
  const feedback: ParsedFeedback = {
    weaknesses,
    suggestions: detail.answer === null ? [] : [`The answer is ${detail.answer}.`],
    score: null,
    verdict,
    // A "wrong" verdict whose lines name no wrong digit gives the refiner nothing to act on (Self-Refine stops
    // when the feedback finds nothing to fix); the verdict itself is kept as written.
    noIssues: verdict === 'correct' || (detail.columns.length > 0 && weaknesses.length === 0),
  };
  // The verdict must agree with the lines: "correct" with a wrong digit named (or "wrong" with nothing
  // named) is self-contradictory, so the parse is only partial.
  const namesProblem = weaknesses.length > 0;
  const consistent = detail.columns.length === 0 || namesProblem === (verdict === 'incorrect');
  const complete =
    verdicts.length === 1 && detail.unrecognized.length === 0 && detail.answer !== null && detail.columns.length > 0;
  return { parseStatus: complete && consistent ? 'ok' : 'partial', feedback, detail };
}
