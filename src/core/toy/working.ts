/**
 * The short working a draft or a refinement shows: one line per column from the ones leftwards, each the
 * column's sum (or difference) and the answer so far, the last "so far" being the answer.
 *
 *   ones: 7+5+0=12, so 2
 *   tens: 4+8+1=13, so 32
 *   hundreds: 3+2+1=6, so 632
 *
 * Why drafts show their working (a change from the first design, where a draft was only the number): a tiny
 * model trained from scratch cannot learn to write the digits of a sum directly. A digit like (7 + 5) mod 10
 * depends on two digits of the question jointly and on neither alone, so the loss gives no signal until the
 * whole circuit exists; measured here, a 0.8 M model trained on 40k examples stayed at the uniform loss on
 * exactly that digit for 1,000 steps. Written as above, every token is a copy of a nearby token or of one
 * digit of the question, or the sum of three digits just written, which it learns. It is also what SELF
 * drafts are: answers with their reasoning, whose steps the feedback then checks.
 */
import { placeName } from './places.ts';
import type { ToyColumn } from './columns.ts';
import type { ToyOp } from './question.ts';
import { canonicalDigits } from './question.ts';

/** `tens: 4+8+1=13` (the column's work, without the running answer). */
export function columnWork(op: ToyOp, c: ToyColumn): string {
  const sym = op === 'add' ? '+' : '-';
  return `${placeName(c.place)}: ${c.a}${sym}${c.b}${sym}${c.carryIn}=${c.value}`;
}

/**
 * The working of walked columns (right or with a bug). `answer`, when given, replaces the last "so far": a
 * slip made while writing the answer down, after right work.
 */
export function writeWorking(op: ToyOp, cols: readonly ToyColumn[], answer?: string): string {
  const lines: string[] = [];
  let soFar = '';
  cols.forEach((c, i) => {
    soFar = String(c.digit) + soFar;
    lines.push(`${columnWork(op, c)}, so ${i === cols.length - 1 && answer !== undefined ? answer : soFar}`);
  });
  return lines.join('\n');
}

const WORK_LINE_RE = /^[a-z0-9^-]+\s*:\s*\d\s*[+-]\s*\d\s*[+-]\s*\d\s*=\s*-?\d+\s*,\s*so\s+(\d+)\s*\.?$/i;
/** Longer lines are never part of the format (keeps the regex linear on hostile input). */
const MAX_LINE_CHARS = 200;

/**
 * The answer a working states: the last line's "so far", canonical; null unless every non-empty line is a
 * working line.
 */
export function workingAnswer(text: string): string | null {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return null;
  let last: string | null = null;
  for (const line of lines) {
    if (line.length > MAX_LINE_CHARS) return null;
    const m = WORK_LINE_RE.exec(line);
    if (!m) return null;
    last = m[1];
  }
  return last === null ? null : canonicalDigits(last);
}
