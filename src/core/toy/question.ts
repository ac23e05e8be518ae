/**
 * Toy-world questions: multi-digit addition and subtraction with a non-negative result, written as
 * `347 + 285` or `632 - 285`. Operands are kept as digit strings so every size is exact.
 */
import { AppError } from '../errors.ts';

export type ToyOp = 'add' | 'sub';

export interface ToyQuestion {
  op: ToyOp;
  /** Left operand, canonical digits (no leading zeros). */
  a: string;
  /** Right operand, canonical digits; for 'sub' never larger than `a`. */
  b: string;
  /** The question as the model sees it, e.g. `347 + 285`. */
  text: string;
}

/** Longest operand the checkers accept (the model is trained on 3 digits; the program works for any size). */
export const MAX_OPERAND_DIGITS = 12;

const SYMBOL: Record<ToyOp, string> = { add: '+', sub: '-' };

/** Strips leading zeros ("007" → "7", "000" → "0"). */
export function canonicalDigits(s: string): string {
  const t = s.replace(/^0+/, '');
  return t === '' ? '0' : t;
}

/** Compares two canonical digit strings numerically: negative, zero or positive. */
export function compareDigits(x: string, y: string): number {
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Digit at `place` (0 = ones) of a digit string, or 0 beyond its length. */
export function digitAt(s: string, place: number): number {
  const i = s.length - 1 - place;
  return i >= 0 ? s.charCodeAt(i) - 48 : 0;
}

export function formatToyQuestion(op: ToyOp, a: string, b: string): string {
  return `${a} ${SYMBOL[op]} ${b}`;
}

/** Builds a question from operands, validating them. */
export function makeToyQuestion(op: ToyOp, a: string | number, b: string | number): ToyQuestion {
  const as = String(a);
  const bs = String(b);
  for (const s of [as, bs]) {
    if (!/^\d+$/.test(s)) {
      throw new AppError('bad-input', `"${s}" is not a whole number. Toy questions use non-negative integers.`);
    }
    if (s.length > MAX_OPERAND_DIGITS) {
      throw new AppError('bad-input', `"${s}" has more than ${MAX_OPERAND_DIGITS} digits. Use shorter numbers.`);
    }
  }
  const ca = canonicalDigits(as);
  const cb = canonicalDigits(bs);
  if (op === 'sub' && compareDigits(ca, cb) < 0) {
    throw new AppError(
      'bad-input',
      `${ca} - ${cb} would be negative. The toy world has non-negative results only: put the larger number first.`,
    );
  }
  return { op, a: ca, b: cb, text: formatToyQuestion(op, ca, cb) };
}

/** Parses `347 + 285` or `632-285` (spaces optional, a trailing `=` or `= ?` allowed); null when it isn't one. */
export function tryParseToyQuestion(text: string): ToyQuestion | null {
  const m = /^\s*(\d+)\s*([+-])\s*(\d+)\s*(?:=\s*\??\s*)?$/.exec(text);
  if (!m) return null;
  try {
    return makeToyQuestion(m[2] === '+' ? 'add' : 'sub', m[1], m[3]);
  } catch {
    return null;
  }
}

/** Parses a question or throws a `bad-input` AppError saying what a toy question looks like. */
export function parseToyQuestion(text: string): ToyQuestion {
  const m = /^\s*(\d+)\s*([+-])\s*(\d+)\s*(?:=\s*\??\s*)?$/.exec(text);
  if (!m) {
    const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
    throw new AppError(
      'bad-input',
      `"${shown}" is not a toy arithmetic question. Write two whole numbers joined by + or -, e.g. "347 + 285".`,
    );
  }
  return makeToyQuestion(m[2] === '+' ? 'add' : 'sub', m[1], m[3]);
}
