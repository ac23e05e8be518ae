/**
 * Which split a question belongs to is a fixed function of its text, the same for every seed: a question
 * that can appear in the held-out evaluation set can never appear in any meta-skill corpus or self-evolution
 * set, whichever seeds produced them. (Seeds only choose which questions of a split are drawn.)
 */
import { AppError } from '../errors.ts';
import { compareDigits, makeToyQuestion } from './question.ts';
import type { ToyOp, ToyQuestion } from './question.ts';
import { hashString } from './rng.ts';
import type { ToyRng } from './rng.ts';

export type ToySplit = 'meta' | 'evolve' | 'eval';

/** Of 20 hash buckets: 16 meta-skill, 2 self-evolution, 2 evaluation. */
export function splitOf(questionText: string): ToySplit {
  const bucket = hashString(`toy-split\u0000${questionText}`) % 20;
  return bucket < 16 ? 'meta' : bucket < 18 ? 'evolve' : 'eval';
}

export interface QuestionShape {
  /** Operand lengths are drawn uniformly from [minDigits, maxDigits], independently for each operand. */
  minDigits: number;
  maxDigits: number;
  ops: readonly ToyOp[];
}

/**
 * Three-digit operands (results 0–1998). Fixed width makes "the digit at place k" something each digit
 * token can tell from what comes before it; with 2–4 digits the first model learned that much more slowly.
 */
export const DEFAULT_SHAPE: Readonly<QuestionShape> = { minDigits: 3, maxDigits: 3, ops: ['add', 'sub'] };

function randomNumber(rng: ToyRng, digits: number): string {
  let s = String(rng.int(1, 9));
  for (let i = 1; i < digits; i++) s += String(rng.int(0, 9));
  return s;
}

/** One random question of the shape (any split). */
export function sampleQuestion(rng: ToyRng, shape: QuestionShape = DEFAULT_SHAPE): ToyQuestion {
  const op = rng.pick(shape.ops);
  let a = randomNumber(rng, rng.int(shape.minDigits, shape.maxDigits));
  let b = randomNumber(rng, rng.int(shape.minDigits, shape.maxDigits));
  if (op === 'sub' && compareDigits(a, b) < 0) [a, b] = [b, a];
  return makeToyQuestion(op, a, b);
}

/**
 * Draws `count` distinct questions of one split, skipping any text already in `used` (and adding the drawn
 * ones to it). Throws a `bad-input` AppError when the split is too small for the request.
 */
export function drawQuestions(
  rng: ToyRng,
  split: ToySplit,
  count: number,
  used: Set<string>,
  shape: QuestionShape = DEFAULT_SHAPE,
): ToyQuestion[] {
  const out: ToyQuestion[] = [];
  const maxTries = 1000 + count * 200;
  for (let tries = 0; out.length < count; tries++) {
    if (tries >= maxTries) {
      throw new AppError(
        'bad-input',
        `Could only find ${out.length} of ${count} distinct ${split} questions with ${shape.minDigits}–${shape.maxDigits}-digit operands. Ask for fewer questions or allow more digits.`,
      );
    }
    const q = sampleQuestion(rng, shape);
    if (splitOf(q.text) !== split || used.has(q.text)) continue;
    used.add(q.text);
    out.push(q);
  }
  return out;
}
