/**
 * Column-by-column arithmetic, from the ones column leftwards, the way a person does it on paper. The same
 * walk produces the right answer, the sloppy drafter's buggy answers (with one procedural bug switched on)
 * and the lines of the feedback.
 */
import { canonicalDigits, digitAt } from './question.ts';
import type { ToyQuestion } from './question.ts';

export interface ToyColumn {
  /** 0 = ones, 1 = tens, ... */
  place: number;
  /** Digit of each operand in this column (0 where the operand is shorter). */
  a: number;
  b: number;
  /** Carry (add) or borrow (sub) coming in from the column to the right: 0 or 1. */
  carryIn: number;
  /** add: a + b + carryIn (0..19); sub: a - b - carryIn (-10..9). */
  value: number;
  /** The digit this column contributes to the answer. */
  digit: number;
  /** Carry (add: value >= 10) or borrow (sub: value < 0) passed to the next column: 0 or 1. */
  carryOut: number;
}

/** One procedural bug, in the sense of Brown & Burton's "buggy" arithmetic: a wrong rule applied at one column. */
export type ColumnBug =
  /** add: the carry out of `place` is never written down, so the next column doesn't get it. */
  | { kind: 'forgot-carry'; place: number }
  /** sub: borrows ten for `place` but never takes the one from the next column. */
  | { kind: 'forgot-borrow'; place: number }
  /** sub: at `place` (a < b, nothing borrowed in) writes b - a instead of borrowing. */
  | { kind: 'smaller-from-larger'; place: number }
  /** A carry (add) or borrow (sub) taken into `place` although none is due. */
  | { kind: 'extra-carry'; place: number }
  /** The value of `place` is off by `delta` (its digit and carry follow from the wrong value). */
  | { kind: 'wrong-value'; place: number; delta: number }
  /** One operand digit of `place` is read as `digit` (the column is then worked out from it). */
  | { kind: 'misread'; place: number; operand: 'a' | 'b'; digit: number };

export interface WalkOptions {
  /** Walk at least this many columns (the feedback checks every column the answer under review has). */
  minPlaces?: number;
  bug?: ColumnBug;
}

/** Walks the columns of a question; without a bug this is the exact computation. */
export function walkColumns(q: ToyQuestion, options: WalkOptions = {}): ToyColumn[] {
  const { minPlaces = 0, bug } = options;
  const width = Math.max(q.a.length, q.b.length, minPlaces);
  const cols: ToyColumn[] = [];
  let carry = 0;
  for (let place = 0; place < width || carry !== 0; place++) {
    const here = bug?.place === place ? bug : undefined;
    const a = here?.kind === 'misread' && here.operand === 'a' ? here.digit : digitAt(q.a, place);
    const b = here?.kind === 'misread' && here.operand === 'b' ? here.digit : digitAt(q.b, place);
    const carryIn = here?.kind === 'extra-carry' ? 1 : carry;
    let value: number;
    let digit: number;
    let carryOut: number;
    if (here?.kind === 'wrong-value') {
      value = (q.op === 'add' ? a + b + carryIn : a - b - carryIn) + here.delta;
      digit = ((value % 10) + 10) % 10;
      carryOut = q.op === 'add' ? (value >= 10 ? 1 : 0) : value < 0 ? 1 : 0;
      carry = carryOut;
    } else if (q.op === 'add') {
      value = a + b + carryIn;
      digit = value % 10;
      carryOut = value >= 10 ? 1 : 0;
      carry = bug?.kind === 'forgot-carry' && bug.place === place ? 0 : carryOut;
    } else if (bug?.kind === 'smaller-from-larger' && bug.place === place && carryIn === 0 && a < b) {
      value = b - a;
      digit = value;
      carryOut = 0;
      carry = 0;
    } else {
      value = a - b - carryIn;
      digit = value < 0 ? value + 10 : value;
      carryOut = value < 0 ? 1 : 0;
      carry = bug?.kind === 'forgot-borrow' && bug.place === place ? 0 : carryOut;
    }
    cols.push({ place, a, b, carryIn, value, digit, carryOut });
    // A buggy subtraction can run past the top digit with a borrow still pending; stop there.
    if (q.op === 'sub' && place >= width - 1) break;
  }
  return cols;
}

/** The number the columns spell, most significant digit first, without leading zeros. */
export function columnsToNumber(cols: readonly ToyColumn[]): string {
  let s = '';
  for (let i = cols.length - 1; i >= 0; i--) s += String(cols[i].digit);
  return canonicalDigits(s);
}

/** The exact columns of a question. */
export function toyColumns(q: ToyQuestion, minPlaces = 0): ToyColumn[] {
  return walkColumns(q, { minPlaces });
}

/** The right answer as a canonical digit string. */
export function solveToy(q: ToyQuestion): string {
  return columnsToNumber(toyColumns(q));
}
