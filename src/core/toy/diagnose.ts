/**
 * Diagnosis of drafts and feedback: what kind of error a wrong draft makes (the first place its working leaves
 * the right working), and what a feedback did with a draft (did it read the draft's digits, did it compute the
 * columns right). Used to find out why SELF rounds lose the feedback skill (README.md, section 9) and by
 * `npx tsx src/cli/toy-diagnose.ts`. Only evaluation code calls this: it uses the right answer.
 */
import { toyColumns, type ToyColumn } from './columns.ts';
import { extractToyAnswer } from './feedback.ts';
import { parseToyFeedback } from './parse-feedback.ts';
import { placeOfName } from './places.ts';
import { digitAt, type ToyQuestion } from './question.ts';
import { habitApplies } from './drafter.ts';

/**
 * Where a wrong draft first leaves the right working:
 *   habit      the tens line takes no carry (borrow) after a carrying (borrowing) ones column: the drafter's habit
 *   carry      another wrong carry/borrow coming into a column
 *   operand    a column holds a digit that is not the question's
 *   sum        the column's value is not what its own digits and carry give
 *   digit      the digit written in front of the answer so far is not the value's last digit
 *   copy       the answer so far does not repeat the previous line's
 *   columns    too few or too many lines (everything written is right otherwise)
 *   not-working  the text is a bare number or no working at all
 */
export const DRAFT_ERROR_CLASSES = ['habit', 'carry', 'operand', 'sum', 'digit', 'copy', 'columns', 'not-working'] as const;
export type DraftErrorClass = (typeof DRAFT_ERROR_CLASSES)[number];

interface WorkLine {
  place: number | null;
  a: number;
  b: number;
  carry: number;
  value: number;
  soFar: string;
}

const LINE_RE = /^([a-z0-9^-]+)\s*:\s*(\d)\s*[+-]\s*(\d)\s*[+-]\s*(\d)\s*=\s*(-?\d+)\s*,\s*so\s+(\d+)/i;

function workLines(text: string): WorkLine[] | null {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const out: WorkLine[] = [];
  for (const l of lines) {
    const m = LINE_RE.exec(l);
    if (!m) return null;
    out.push({ place: placeOfName(m[1].toLowerCase()), a: +m[2], b: +m[3], carry: +m[4], value: +m[5], soFar: m[6] });
  }
  return out.length > 0 ? out : null;
}

const colValue = (op: ToyQuestion['op'], l: WorkLine) => (op === 'add' ? l.a + l.b + l.carry : l.a - l.b - l.carry);
const lastDigit = (v: number) => ((v % 10) + 10) % 10;

/** The class of a draft's first error, or null when the draft is right. */
export function draftErrorClass(q: ToyQuestion, text: string): DraftErrorClass | null {
  const right = toyColumns(q);
  const answer = extractToyAnswer(text);
  if (answer !== null && answer === rightAnswer(right)) return null;
  const lines = workLines(text);
  if (lines === null) return 'not-working';
  for (let i = 0; i < Math.min(lines.length, right.length); i++) {
    const l = lines[i];
    const c: ToyColumn = right[i];
    if (l.place !== c.place || l.a !== c.a || l.b !== c.b) return 'operand';
    if (l.carry !== c.carryIn) return i === 1 && habitApplies(q) && l.carry === 0 ? 'habit' : 'carry';
    if (l.value !== colValue(q.op, l)) return 'sum';
    const prev = i === 0 ? '' : lines[i - 1].soFar;
    if (l.soFar.slice(1) !== prev) return 'copy';
    if (+l.soFar[0] !== lastDigit(l.value)) return 'digit';
  }
  return 'columns';
}

function rightAnswer(cols: readonly ToyColumn[]): string {
  return extractToyAnswer(cols.map((c) => String(c.digit)).reverse().join('')) ?? '';
}

/**
 * What a feedback did on one draft, at the first place where something is off:
 *   caught       called a wrong draft wrong
 *   misread      the column is computed right but the digit quoted as the draft's is not the draft's digit
 *                (a miss: the critic "recognised" a right answer instead of reading it; a false alarm: it quoted a
 *                wrong digit from a right draft)
 *   shared       the feedback computes the column the same wrong way as the draft (a miss)
 *   miscomputed  the feedback computes a column wrong where the draft is right (a false alarm, or a miss elsewhere)
 *   same-digit   `should be` repeats the draft's own digit (a false alarm whose lines name nothing)
 *   no-verdict   no usable verdict
 *   quiet        the right verdict on a right draft
 *   other        anything else
 */
export type FeedbackFinding = 'caught' | 'quiet' | 'misread' | 'shared' | 'miscomputed' | 'same-digit' | 'no-verdict' | 'other';

export function feedbackFinding(q: ToyQuestion, draftText: string, feedbackText: string): FeedbackFinding {
  const parsed = parseToyFeedback(feedbackText);
  const verdict = parsed.feedback?.verdict ?? 'unknown';
  if (verdict === 'unknown') return 'no-verdict';
  const cols = toyColumns(q);
  const draftAnswer = extractToyAnswer(draftText);
  const draftRight = draftAnswer !== null && draftAnswer === rightAnswer(cols);
  if (draftRight && verdict === 'correct') return 'quiet';
  if (!draftRight && verdict === 'incorrect') return 'caught';
  const draftLines = workLines(draftText);
  for (const fc of parsed.detail.columns) {
    if (fc.place === null) return 'other';
    const c = toyColumns(q, fc.place + 1)[fc.place];
    if (!c) return 'other';
    const computedRight = fc.value === c.value && +fc.soFar[0] === c.digit;
    const draftDigit = draftAnswer === null ? null : digitAt(draftAnswer, fc.place);
    if (draftRight) {
      if (!computedRight) return 'miscomputed';
      if (fc.draftDigit !== null && fc.draftDigit !== draftDigit) return 'misread';
      if (fc.shouldBe !== null && fc.shouldBe === fc.draftDigit) return 'same-digit';
      continue;
    }
    // A wrong draft called correct: find the first wrong place and see what the feedback did there.
    if (draftDigit === null || draftDigit === c.digit) {
      if (!computedRight) return 'miscomputed';
      continue;
    }
    if (computedRight) return 'misread';
    const dl = draftLines?.find((l) => l.place === fc.place);
    return dl && dl.value === fc.value ? 'shared' : 'miscomputed';
  }
  return 'other';
}

/** Counts of each value, in a stable order of first appearance. */
export function tally<T extends string>(values: readonly T[]): Record<T, number> {
  const out = {} as Record<T, number>;
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
