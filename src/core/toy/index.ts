/**
 * The toy arithmetic world of the embedded tiny model: questions, the column-by-column feedback format,
 * the sloppy drafter, the seeded data generator, prompts, checkers and the tokenizer builder.
 * See README.md for the design and the training plan.
 */
export type { ToyOp, ToyQuestion } from './question.ts';
export {
  MAX_OPERAND_DIGITS,
  canonicalDigits,
  formatToyQuestion,
  makeToyQuestion,
  parseToyQuestion,
  tryParseToyQuestion,
} from './question.ts';
export type { ToyColumn, ColumnBug } from './columns.ts';
export { solveToy, toyColumns, walkColumns, columnsToNumber } from './columns.ts';
export { workingAnswer, writeWorking } from './working.ts';
export type { Draft, DraftErrorKind, DrafterOptions } from './drafter.ts';
export { DEFAULT_DRAFTER, DRAFT_ERROR_KINDS, REVIEW_ONLY_ERROR_KINDS, applyDraftError, habitApplies, habitDraft, rightDraft, sloppyDraft } from './drafter.ts';
export {
  NOT_A_NUMBER_LINE,
  VERDICT_CORRECT_LINE,
  VERDICT_WRONG_LINE,
  extractToyAnswer,
  placeName,
  writeToyFeedback,
} from './feedback.ts';
export type { ToyFeedbackColumn, ToyFeedbackDetail, ToyFeedbackParse } from './parse-feedback.ts';
export { parseToyFeedback } from './parse-feedback.ts';
export type { FeedbackJudgement, ToyCheck } from './check.ts';
export { checkToyAnswer, checkToyDetailed, judgeToyFeedback } from './check.ts';
export { TOY_CHECK, TOY_FIX, TOY_TEMPLATE_TEXT, toyPrompts, withAnswer } from './prompts.ts';
export { readCriticView, toyCriticView } from './stated-answer.ts';
export { TOY_CHAT_TEMPLATE, TOY_SPECIAL_TOKENS, renderToyChat } from './chat-template.ts';
export type { ToyData, ToyDataOptions, ToyMetaExample } from './generate.ts';
export { generateToyData, metaExample, toyTrainingChats } from './generate.ts';
export type { ReviewOptions } from './review-drafter.ts';
export { DEFAULT_REVIEW, reviewDraft, reviewKindsFor } from './review-drafter.ts';
export type { QuestionShape, ToySplit } from './split.ts';
export { DEFAULT_SHAPE, splitOf } from './split.ts';
export { ToyRng } from './rng.ts';
export type { ToyTokenizerFiles } from './tokenizer-build.ts';
export { buildToyTokenizerFiles, toyJsonText } from './tokenizer-build.ts';
export type { ToyModelShape } from './model-config.ts';
export { PROPOSED_TOY_SHAPE, llamaParamCount, proposedToyConfigJson, trainingFlops } from './model-config.ts';

/** Where the embedded model's files live, in the Hugging Face layout (served from public/). */
export const TOY_MODEL_DIR = 'models/toy-arith';
