/**
 * The feedback format and its writer. The program writes it for the meta-skill corpus (it is the "strong
 * annotator" of SELF) and as the oracle in the app; the model learns to write the same thing itself.
 *
 * One line per column, from the ones column leftwards, then the corrected answer and a verdict:
 *
 *   ones: 7+5+0=12, so 2; draft 2 ok
 *   tens: 4+8+1=13, so 32; draft 2, should be 3
 *   hundreds: 3+2+1=6, so 632; draft 6 ok
 *   answer: 632
 *   Verdict: wrong
 *
 * A column line holds the two operand digits (0 where a number is shorter), the carry/borrow coming in, the
 * column's value (a sum, or a difference that is negative when the column borrows), the answer so far (the
 * new digit in front of the previous line's), and the draft's digit in that place (0 where the draft is
 * shorter), which is either `ok` or named with the digit it should be. The first line with `should be` is
 * the first wrong digit. Every step depends only on things a few tokens away, or on one digit of a number
 * in the question or the draft: a tiny model can learn it, unlike the carry look-ahead of a direct answer.
 */
import { toyColumns } from './columns.ts';
import type { ToyColumn } from './columns.ts';
import { canonicalDigits, digitAt } from './question.ts';
import type { ToyQuestion } from './question.ts';

const PLACE_NAMES = [
  'ones',
  'tens',
  'hundreds',
  'thousands',
  'ten-thousands',
  'hundred-thousands',
  'millions',
  'ten-millions',
  'hundred-millions',
  'billions',
  'ten-billions',
  'hundred-billions',
  'trillions',
];

/** Name of a place (0 = ones); beyond the table, `10^k`. */
export function placeName(place: number): string {
  return PLACE_NAMES[place] ?? `10^${place}`;
}

/** The place a name stands for, or null. */
export function placeOfName(name: string): number | null {
  const i = PLACE_NAMES.indexOf(name);
  if (i >= 0) return i;
  const m = /^10\^(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

export const VERDICT_CORRECT_LINE = 'Verdict: correct';
export const VERDICT_WRONG_LINE = 'Verdict: wrong';
export const NOT_A_NUMBER_LINE = 'The draft is not a number.';

/** The answer text as a canonical digit string, or null when it isn't a plain whole number. */
export function extractToyAnswer(text: string): string | null {
  const t = text.trim();
  return /^\d+$/.test(t) ? canonicalDigits(t) : null;
}

/** `tens: 4+8+1=13` (the column's work, without the running answer or the draft comparison). */
export function columnWork(op: ToyQuestion['op'], c: ToyColumn): string {
  const sym = op === 'add' ? '+' : '-';
  return `${placeName(c.place)}: ${c.a}${sym}${c.b}${sym}${c.carryIn}=${c.value}`;
}

/** Writes the feedback on an answer (a draft or a refinement) to a question. */
export function writeToyFeedback(q: ToyQuestion, answerText: string): string {
  const draft = extractToyAnswer(answerText);
  // Check every column the answer has, even past the right answer's length (a too-long draft is wrong there).
  const cols = toyColumns(q, draft === null ? 0 : draft.length);
  const lines: string[] = [];
  let soFar = '';
  let wrong = draft === null;
  for (const c of cols) {
    soFar = String(c.digit) + soFar;
    let line = `${columnWork(q.op, c)}, so ${soFar}`;
    if (draft !== null) {
      const d = digitAt(draft, c.place);
      if (d === c.digit) {
        line += `; draft ${d} ok`;
      } else {
        line += `; draft ${d}, should be ${c.digit}`;
        wrong = true;
      }
    }
    lines.push(line);
  }
  if (draft === null) lines.push(NOT_A_NUMBER_LINE);
  lines.push(`answer: ${canonicalDigits(soFar)}`);
  lines.push(wrong ? VERDICT_WRONG_LINE : VERDICT_CORRECT_LINE);
  return lines.join('\n');
}
