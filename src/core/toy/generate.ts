/**
 * One seeded generator for every toy data set: the meta-skill corpus (question, draft, feedback,
 * refinement as a chat), the unlabeled questions for each self-evolution round, and the held-out evaluation
 * questions. Same options → identical output. Splits never share a question (see split.ts).
 */
import { AppError } from '../errors.ts';
import type { ChatMessage } from '../text/types.ts';
import { DEFAULT_DRAFTER, rightDraft, sloppyDraft } from './drafter.ts';
import type { Draft, DrafterOptions } from './drafter.ts';
import { writeToyFeedback } from './feedback.ts';
import { DEFAULT_REVIEW, reviewDraft, type ReviewOptions } from './review-drafter.ts';
import { toyPrompts, withAnswer } from './prompts.ts';
import type { ToyQuestion } from './question.ts';
import { ToyRng } from './rng.ts';
import { DEFAULT_SHAPE, drawQuestions } from './split.ts';
import type { QuestionShape } from './split.ts';

export interface ToyDataOptions {
  seed: number;
  /** Meta-skill items (default 12000; see README.md, "Training plan"). */
  metaCount?: number;
  /**
   * Share of meta-skill items that also get a refine chat (default 0.25). Refining is copying the feedback's
   * `answer:` line, learnt from few examples, while a refine prompt repeats the whole feedback: this keeps
   * the corpus small.
   */
  refineShare?: number;
  /** Self-evolution rounds (default 2), each with its own unlabeled questions. */
  rounds?: number;
  /** Unlabeled questions per round (default 200). */
  perRound?: number;
  /** Held-out evaluation questions (default 200). */
  evalCount?: number;
  drafter?: Partial<DrafterOptions>;
  /** Which drafts the feedback and refine chats review (review-drafter.ts; default DEFAULT_REVIEW). */
  review?: Partial<ReviewOptions>;
  shape?: Partial<QuestionShape>;
  /**
   * Extra meta-split questions that get only a draft chat (default 0). Direct answers are the hardest skill
   * and their chats are short, so extra drafts buy the direct-answer skill training cheaply. Drawn from
   * their own stream after the meta-skill questions (never the same question twice).
   */
  extraDrafts?: number;
}

export interface ToyMetaExample {
  question: ToyQuestion;
  /** The drafter's draft (the draft chat's target). */
  draft: Draft;
  /** The draft the feedback and refine chats review: the drafter's own, or a varied one (review-drafter.ts). */
  reviewed: Draft;
  /** The annotator's feedback on the reviewed draft. */
  feedback: string;
  /** The right working (its answer is what the feedback's `answer:` line says). */
  refinement: string;
  /**
   * Training chats, each a step's exact prompt (toyPrompts) followed by the assistant's target:
   * draft (question → the drafter's answer), feedback (question + reviewed draft → feedback) and, for a share
   * of the items, refine (question + reviewed draft + feedback → right working).
   */
  chats: { draft: ChatMessage[]; feedback: ChatMessage[]; refine: ChatMessage[] | null };
}

export interface ToyData {
  seed: number;
  meta: ToyMetaExample[];
  /** Draft-only training items (`extraDrafts`): question → the drafter's answer. */
  drafts: { question: ToyQuestion; draft: Draft; chat: ChatMessage[] }[];
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

/**
 * One meta-skill item: the drafter's draft as the draft chat, and the annotator's feedback and refinement of
 * `reviewed` (default: the same draft) as the feedback and refine chats.
 */
export function metaExample(question: ToyQuestion, draft: Draft, withRefine = true, reviewed: Draft = draft): ToyMetaExample {
  const q = question.text;
  const feedback = writeToyFeedback(question, reviewed.text);
  const refinement = rightDraft(question).text;
  return {
    question,
    draft,
    reviewed,
    feedback,
    refinement,
    chats: {
      draft: withAnswer(toyPrompts.draft(q), draft.text),
      feedback: withAnswer(toyPrompts.feedback(q, reviewed.text), feedback),
      refine: withRefine ? withAnswer(toyPrompts.refine(q, reviewed.text, feedback), refinement) : null,
    },
  };
}

/**
 * Every training chat of a corpus in a fixed order (per item: draft, feedback, refine when present), then the
 * draft-only chats when given.
 */
export function toyTrainingChats(meta: readonly ToyMetaExample[], drafts: ToyData['drafts'] = []): ChatMessage[][] {
  const out: ChatMessage[][] = [];
  for (const ex of meta) {
    out.push(ex.chats.draft, ex.chats.feedback);
    if (ex.chats.refine !== null) out.push(ex.chats.refine);
  }
  for (const d of drafts) out.push(d.chat);
  return out;
}

export function generateToyData(options: ToyDataOptions): ToyData {
  const { seed } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new AppError('bad-input', `The seed must be a whole number from 0 to 4294967295 (got ${String(seed)}).`);
  }
  const metaCount = count('metaCount', options.metaCount, 12000);
  const refineShare = rate('refineShare', options.refineShare ?? 0.25);
  const rounds = count('rounds', options.rounds, 2);
  const perRound = count('perRound', options.perRound, 200);
  const evalCount = count('evalCount', options.evalCount, 200);
  const drafter: DrafterOptions = { ...DEFAULT_DRAFTER, ...options.drafter };
  rate('drafter.habitRate', drafter.habitRate);
  rate('drafter.slipRate', drafter.slipRate);
  const review: ReviewOptions = { ...DEFAULT_REVIEW, ...options.review };
  rate('review.ownShare', review.ownShare);
  rate('review.rightShare', review.rightShare);
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
  const refineRng = new ToyRng(seed, 'refine-share');
  const reviewRng = new ToyRng(seed, 'review');
  const meta = metaQuestions.map((q) => {
    const draft = sloppyDraft(q, draftRng, drafter);
    return metaExample(q, draft, refineRng.chance(refineShare), reviewDraft(q, draft, reviewRng, review));
  });
  const extra = count('extraDrafts', options.extraDrafts, 0);
  const extraRng = new ToyRng(seed, 'extra-drafts');
  const drafts = drawQuestions(extraRng, 'meta', extra, used, shape).map((question) => {
    const draft = sloppyDraft(question, extraRng, drafter);
    return { question, draft, chat: withAnswer(toyPrompts.draft(question.text), draft.text) };
  });
  return { seed, meta, drafts, rounds: roundSets, eval: evalSet };
}
