/**
 * One seeded generator for every toy data set: the meta-skill corpus (question, draft, feedback,
 * refinement as a chat), the unlabeled questions for each self-evolution round, and the held-out evaluation
 * questions. Same options → identical output. Splits never share a question (see split.ts).
 */
import { AppError } from '../errors.ts';
import type { ChatMessage } from '../text/types.ts';
import { solveToy } from './columns.ts';
import { DEFAULT_DRAFTER, sloppyDraft } from './drafter.ts';
import type { Draft, DrafterOptions } from './drafter.ts';
import { writeToyFeedback } from './feedback.ts';
import { toyConversation } from './prompts.ts';
import type { ToyQuestion } from './question.ts';
import { ToyRng } from './rng.ts';
import { DEFAULT_SHAPE, drawQuestions } from './split.ts';
import type { QuestionShape } from './split.ts';

export interface ToyDataOptions {
  seed: number;
  /** Meta-skill conversations (default 16000, about 1.4 M tokens; see README.md, "Training plan"). */
  metaCount?: number;
  /** Self-evolution rounds (default 2), each with its own unlabeled questions. */
  rounds?: number;
  /** Unlabeled questions per round (default 200). */
  perRound?: number;
  /** Held-out evaluation questions (default 200). */
  evalCount?: number;
  drafter?: Partial<DrafterOptions>;
  shape?: Partial<QuestionShape>;
}

export interface ToyMetaExample {
  question: ToyQuestion;
  draft: Draft;
  /** The annotator's feedback on the draft. */
  feedback: string;
  /** The right answer (what the feedback's `answer:` line says). */
  refinement: string;
  /** The full conversation: question, draft, check request, feedback, fix request, refinement. */
  messages: ChatMessage[];
}

export interface ToyData {
  seed: number;
  meta: ToyMetaExample[];
  /** rounds[r] = the unlabeled questions of self-evolution round r + 1. No answers: they are never stored. */
  rounds: ToyQuestion[][];
  eval: ToyQuestion[];
}

function count(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) {
    throw new AppError('bad-input', `${name} must be a whole number ≥ 0 (got ${String(value)}).`);
  }
  return v;
}

function rate(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new AppError('bad-input', `${name} must be between 0 and 1 (got ${value}).`);
  return value;
}

export function metaExample(question: ToyQuestion, draft: Draft): ToyMetaExample {
  const feedback = writeToyFeedback(question, draft.text);
  const refinement = solveToy(question);
  return { question, draft, feedback, refinement, messages: toyConversation(question.text, draft.text, feedback, refinement) };
}

export function generateToyData(options: ToyDataOptions): ToyData {
  const { seed } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new AppError('bad-input', `The seed must be a whole number from 0 to 4294967295 (got ${String(seed)}).`);
  }
  const metaCount = count('metaCount', options.metaCount, 16000);
  const rounds = count('rounds', options.rounds, 2);
  const perRound = count('perRound', options.perRound, 200);
  const evalCount = count('evalCount', options.evalCount, 200);
  const drafter: DrafterOptions = { ...DEFAULT_DRAFTER, ...options.drafter };
  rate('drafter.habitRate', drafter.habitRate);
  rate('drafter.slipRate', drafter.slipRate);
  const shape: QuestionShape = { ...DEFAULT_SHAPE, ...options.shape };
  if (
    !Number.isInteger(shape.minDigits) ||
    !Number.isInteger(shape.maxDigits) ||
    shape.minDigits < 1 ||
    shape.maxDigits < shape.minDigits ||
    shape.maxDigits > 12 ||
    shape.ops.length === 0
  ) {
    throw new AppError('bad-input', 'shape needs 1 ≤ minDigits ≤ maxDigits ≤ 12 and at least one operation.');
  }

  // Each split draws from its own stream, so changing one count never changes another split.
  const used = new Set<string>();
  const evalSet = drawQuestions(new ToyRng(seed, 'eval'), 'eval', evalCount, used, shape);
  const evolveRng = new ToyRng(seed, 'evolve');
  const roundSets: ToyQuestion[][] = [];
  for (let r = 0; r < rounds; r++) roundSets.push(drawQuestions(evolveRng, 'evolve', perRound, used, shape));
  const metaQuestions = drawQuestions(new ToyRng(seed, 'meta'), 'meta', metaCount, used, shape);
  const draftRng = new ToyRng(seed, 'drafter');
  const meta = metaQuestions.map((q) => metaExample(q, sloppyDraft(q, draftRng, drafter)));
  return { seed, meta, rounds: roundSets, eval: evalSet };
}
