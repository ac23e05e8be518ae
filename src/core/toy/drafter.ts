/**
 * The sloppy drafter: writes the first answers of the meta-skill corpus. It plays the imperfect initial
 * model of SELF: it has one systematic habit (a procedural bug it applies most of the time when it can) and
 * makes occasional random slips. See README.md ("The drafter") for why the rates are what they are.
 */
import { columnsToNumber, toyColumns, walkColumns } from './columns.ts';
import type { ColumnBug, ToyColumn } from './columns.ts';
import { writeWorking } from './working.ts';
import { digitAt } from './question.ts';
import type { ToyQuestion } from './question.ts';
import { solveToy } from './columns.ts';
import type { ToyRng } from './rng.ts';

export const DRAFT_ERROR_KINDS = [
  'forgot-carry',
  'forgot-borrow',
  'smaller-from-larger',
  'off-by-one',
  'swapped-digits',
  'dropped-digit',
  'repeated-digit',
] as const;
/**
 * Error kinds the sloppy drafter never makes but a reviewed draft of the meta-skill corpus may carry
 * (review-drafter.ts): a carry taken where none is due, a column value off by one, an operand digit misread.
 */
export const REVIEW_ONLY_ERROR_KINDS = ['extra-carry', 'wrong-value', 'misread'] as const;
export type DraftErrorKind = (typeof DRAFT_ERROR_KINDS)[number] | (typeof REVIEW_ONLY_ERROR_KINDS)[number];

export interface DrafterOptions {
  /**
   * How often the habit fires when it can: the carry out of the ones column is forgotten (add), or the borrow
   * for the ones column is never taken from the tens (sub). Above 0.5 so that greedy decoding reproduces it.
   */
  habitRate: number;
  /** How often a draft without the habit gets one random slip of another kind. Below 0.5 and diverse. */
  slipRate: number;
}

export const DEFAULT_DRAFTER: Readonly<DrafterOptions> = { habitRate: 0.7, slipRate: 0.15 };

export interface Draft {
  /** The draft as written: its working, whose last line states the answer (working.ts). */
  text: string;
  /** The answer it states (canonical digits). */
  answer: string;
  /** The error it contains, or null for a right draft. */
  error: DraftErrorKind | null;
  /** True when the error is the drafter's habit (ones-column carry or borrow). */
  habit: boolean;
  /**
   * Where the error was made: the column (0 = ones) for column bugs, the digit index from the left of the
   * right answer for digit slips; null for a right draft.
   */
  at: number | null;
}

/** True when the habit can fire: the ones column carries (add) or borrows (sub). */
export function habitApplies(q: ToyQuestion): boolean {
  const a0 = digitAt(q.a, 0);
  const b0 = digitAt(q.b, 0);
  return q.op === 'add' ? a0 + b0 >= 10 : a0 < b0;
}

/** The habit's answer, or null when the habit can't fire on this question. */
export function habitDraft(q: ToyQuestion): Draft | null {
  if (!habitApplies(q)) return null;
  const kind = q.op === 'add' ? 'forgot-carry' : 'forgot-borrow';
  const cols = walkColumns(q, { bug: { kind, place: 0 } });
  return { text: writeWorking(q.op, cols), answer: columnsToNumber(cols), error: kind, habit: true, at: 0 };
}

/** Columns where a column bug of this kind changes something (excluding the habit's own column 0). */
function bugPlaces(q: ToyQuestion, kind: ColumnBug['kind']): number[] {
  const cols = walkColumns(q);
  const places: number[] = [];
  for (const c of cols) {
    if (c.place === 0 && kind !== 'smaller-from-larger') continue;
    if (kind === 'forgot-carry' && q.op === 'add' && c.carryOut === 1) places.push(c.place);
    if (kind === 'forgot-borrow' && q.op === 'sub' && c.carryOut === 1) places.push(c.place);
    if (kind === 'smaller-from-larger' && q.op === 'sub' && c.carryIn === 0 && c.a < c.b) places.push(c.place);
  }
  return places;
}

/** Indices (from the left) of `s` where a digit edit keeps the number free of a leading zero. */
function editableIndices(s: string, ok: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) if (ok(i)) out.push(i);
  return out;
}

/**
 * Applies one error of the given kind at a random applicable spot. Returns null when the kind can't make a
 * wrong answer for this question (e.g. `forgot-carry` on a subtraction, `swapped-digits` on "77").
 * The result is always a canonical number different from the right answer.
 */
export function applyDraftError(q: ToyQuestion, kind: DraftErrorKind, rng: ToyRng): Draft | null {
  const right = solveToy(q);
  let text: string | null = null;
  let cols: ToyColumn[] | null = null;
  let at: number | null = null;
  switch (kind) {
    case 'forgot-carry':
    case 'forgot-borrow':
    case 'smaller-from-larger': {
      const places = bugPlaces(q, kind);
      if (places.length === 0) return null;
      at = rng.pick(places);
      cols = walkColumns(q, { bug: { kind, place: at } });
      text = columnsToNumber(cols);
      break;
    }
    case 'extra-carry': {
      const places = toyColumns(q).filter((c) => c.place > 0 && c.carryIn === 0).map((c) => c.place);
      if (places.length === 0) return null;
      at = rng.pick(places);
      cols = walkColumns(q, { bug: { kind, place: at } });
      text = columnsToNumber(cols);
      break;
    }
    case 'wrong-value': {
      // Off by one, within the values a column can have (add 0..19, sub -10..9), so the carry stays one digit.
      const right = toyColumns(q);
      at = rng.int(0, right.length - 1);
      const v = right[at].value;
      const deltas = [-1, 1].filter((d) => (q.op === 'add' ? v + d >= 0 && v + d <= 19 : v + d >= -10 && v + d <= 9));
      if (deltas.length === 0) return null;
      cols = walkColumns(q, { bug: { kind, place: at, delta: rng.pick(deltas) } });
      text = columnsToNumber(cols);
      break;
    }
    case 'misread': {
      at = rng.int(0, toyColumns(q).length - 1);
      const operand = rng.pick(['a', 'b'] as const);
      const digit = (digitAt(operand === 'a' ? q.a : q.b, at) + rng.int(1, 9)) % 10;
      cols = walkColumns(q, { bug: { kind, place: at, operand, digit } });
      text = columnsToNumber(cols);
      break;
    }
    case 'off-by-one': {
      // Change one digit by +1 or -1 (staying within 0..9 and never turning the leading digit into 0).
      at = rng.int(0, right.length - 1);
      const d = right.charCodeAt(at) - 48;
      const steps = [-1, 1].filter((s) => d + s >= 0 && d + s <= 9 && !(at === 0 && d + s === 0 && right.length > 1));
      if (steps.length === 0) return null;
      text = right.slice(0, at) + String(d + rng.pick(steps)) + right.slice(at + 1);
      break;
    }
    case 'swapped-digits': {
      const idx = editableIndices(right.slice(0, -1), (i) => right[i] !== right[i + 1] && !(i === 0 && right[1] === '0'));
      if (idx.length === 0) return null;
      at = rng.pick(idx);
      text = right.slice(0, at) + right[at + 1] + right[at] + right.slice(at + 2);
      break;
    }
    case 'dropped-digit': {
      if (right.length < 2) return null;
      const idx = editableIndices(right, (i) => !(i === 0 && right[1] === '0'));
      if (idx.length === 0) return null;
      at = rng.pick(idx);
      text = right.slice(0, at) + right.slice(at + 1);
      break;
    }
    case 'repeated-digit': {
      at = rng.int(0, right.length - 1);
      if (right === '0') return null;
      text = right.slice(0, at + 1) + right[at] + right.slice(at + 1);
      break;
    }
  }
  if (text === null || text === right) return null;
  // A column bug shows in the work; a digit slip is made writing the answer down after right work.
  const working = cols ? writeWorking(q.op, cols) : writeWorking(q.op, toyColumns(q), text);
  return { text: working, answer: text, error: kind, habit: false, at };
}

/** The drafter's slip kinds that can apply to a question's operation. */
export function errorKindsFor(q: ToyQuestion): DraftErrorKind[] {
  return DRAFT_ERROR_KINDS.filter((k) =>
    q.op === 'add' ? k !== 'forgot-borrow' && k !== 'smaller-from-larger' : k !== 'forgot-carry',
  );
}

/** One draft: the habit (when it applies, with probability habitRate), else a slip (slipRate), else right. */
export function sloppyDraft(q: ToyQuestion, rng: ToyRng, options: DrafterOptions = DEFAULT_DRAFTER): Draft {
  const habitRoll = rng.next();
  const slipRoll = rng.next();
  if (habitApplies(q) && habitRoll < options.habitRate) {
    const h = habitDraft(q);
    if (h !== null) return h;
  }
  if (slipRoll < options.slipRate) {
    // Try kinds in a random order until one applies.
    const kinds = errorKindsFor(q);
    for (let tries = 0; tries < kinds.length * 2; tries++) {
      const d = applyDraftError(q, rng.pick(kinds), rng);
      if (d !== null) return d;
    }
  }
  return rightDraft(q);
}

/** A right draft: the exact working. */
export function rightDraft(q: ToyQuestion): Draft {
  return { text: writeWorking(q.op, toyColumns(q)), answer: solveToy(q), error: null, habit: false, at: null };
}
