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
import { canonicalDigits, digitAt } from './question.ts';
import { extractToyAnswer } from './stated-answer.ts';
import { columnWork } from './working.ts';
import type { ToyQuestion } from './question.ts';

export { placeName, placeOfName } from './places.ts';
export { extractToyAnswer } from './stated-answer.ts';

export const VERDICT_CORRECT_LINE = 'Verdict: correct';
export const VERDICT_WRONG_LINE = 'Verdict: wrong';
export const NOT_A_NUMBER_LINE = 'The draft is not a number.';

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
