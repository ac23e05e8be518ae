import { AppError } from '../errors.ts';
import { placeholdersIn } from './template-render.ts';

/**
 * Prompt templates: data, not code. Each field is a string with `{placeholders}` (see template-render.ts).
 * An experiment may override any field; `validateTemplates` says exactly what is wrong with an edit.
 */
export interface PromptTemplates {
  /** System message sent with every call ('' = none). */
  system: string;
  /** First answer. {prompt} */
  draft: string;
  /** Critique of an answer. {prompt} {answer} */
  feedback: string;
  /** Improved answer, given every earlier attempt and its feedback. {prompt} {history} {answer} {feedback} {attempt} */
  refine: string;
  /** One attempt in {history}. {n} {answer} {feedback} */
  historyEntry: string;
  /** Meta-skill training prompt (SELF/SRT): task + a draft. {prompt} {answer} */
  metaPrompt: string;
  /** Meta-skill training target: feedback then refinement. {feedback} {refinement} */
  metaCompletion: string;
}

export type TemplateField = keyof PromptTemplates;

interface FieldRule {
  allowed: string[];
  /** Each inner list: at least one of these must appear. */
  required: string[][];
}

export const TEMPLATE_FIELDS: Readonly<Record<TemplateField, FieldRule>> = {
  system: { allowed: [], required: [] },
  draft: { allowed: ['prompt'], required: [['prompt']] },
  feedback: { allowed: ['prompt', 'answer'], required: [['prompt'], ['answer']] },
  refine: {
    allowed: ['prompt', 'history', 'answer', 'feedback', 'attempt'],
    required: [['prompt'], ['history', 'answer'], ['history', 'feedback']],
  },
  historyEntry: { allowed: ['n', 'answer', 'feedback'], required: [['answer'], ['feedback']] },
  metaPrompt: { allowed: ['prompt', 'answer'], required: [['prompt'], ['answer']] },
  metaCompletion: { allowed: ['feedback', 'refinement'], required: [['feedback'], ['refinement']] },
};

const MAX_TEMPLATE_CHARS = 20_000;

/** Throws AppError('bad-input') naming the field and the placeholder when a template cannot work. */
export function validateTemplates(t: PromptTemplates): void {
  for (const field of Object.keys(TEMPLATE_FIELDS) as TemplateField[]) {
    const rule = TEMPLATE_FIELDS[field];
    const text = t[field];
    if (typeof text !== 'string') {
      throw new AppError('bad-input', `The "${field}" template is missing; restore the default or write one.`);
    }
    if (text.length > MAX_TEMPLATE_CHARS) {
      throw new AppError('bad-input', `The "${field}" template is ${text.length} characters; keep it under ${MAX_TEMPLATE_CHARS}.`);
    }
    if (field !== 'system' && text.trim() === '') {
      throw new AppError('bad-input', `The "${field}" template is empty; restore the default or write one.`);
    }
    const used = placeholdersIn(text);
    const unknown = used.filter((p) => !rule.allowed.includes(p));
    if (unknown.length > 0) {
      const allowed = rule.allowed.length > 0 ? rule.allowed.map((p) => `{${p}}`).join(', ') : 'none';
      throw new AppError(
        'bad-input',
        `The "${field}" template uses ${unknown.map((p) => `{${p}}`).join(', ')}, which it cannot fill. ` +
          `Placeholders allowed there: ${allowed}. Write {{ and }} for literal braces.`,
      );
    }
    for (const oneOf of rule.required) {
      if (!oneOf.some((p) => used.includes(p))) {
        throw new AppError(
          'bad-input',
          `The "${field}" template must contain ${oneOf.map((p) => `{${p}}`).join(' or ')}.`,
        );
      }
    }
  }
}

/** The fields a kind must write itself; the rest have sensible defaults (see completeTemplates). */
export type TemplateInput = Pick<PromptTemplates, 'draft' | 'feedback' | 'refine'> & Partial<PromptTemplates>;

/** Fills the optional fields (system '', the default history entry and meta-skill pair) and validates. */
export function completeTemplates(input: TemplateInput): PromptTemplates {
  const full: PromptTemplates = {
    system: '',
    historyEntry: HISTORY_ENTRY,
    metaPrompt: META_PROMPT,
    metaCompletion: META_COMPLETION,
    ...input,
  };
  validateTemplates(full);
  return full;
}

/** Applies an experiment's edits over base templates (fields left out keep the base) and validates the result. */
export function withOverrides(base: PromptTemplates, overrides?: Partial<PromptTemplates> | null): PromptTemplates {
  const merged: PromptTemplates = { ...base };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (!(k in TEMPLATE_FIELDS)) {
      throw new AppError('bad-input', `Unknown template field "${k}". Fields: ${Object.keys(TEMPLATE_FIELDS).join(', ')}.`);
    }
    if (v !== undefined) merged[k as TemplateField] = v as string;
  }
  validateTemplates(merged);
  return merged;
}

const FEEDBACK_FORMAT = `Reply in exactly this format:
Weaknesses:
- <each problem, or "none">
Suggestions:
- <one concrete fix per problem, or "none">
Score: <1-10>/10
Verdict: <correct | incorrect>
If nothing needs fixing, write NO ISSUES on the last line.`;

const HISTORY_ENTRY = `Attempt {n}:
{answer}

Feedback on attempt {n}:
{feedback}`;

const META_PROMPT = `{prompt}

Here is a draft answer:
{answer}

First critique the draft (weaknesses, suggestions, a score out of 10 and a verdict), then write an improved answer.`;

const META_COMPLETION = `{feedback}

Improved answer:
{refinement}`;

export const MATH_TEMPLATES: PromptTemplates = {
  system: 'You are a careful assistant who solves math word problems step by step.',
  draft: `Solve this problem. Show your working briefly, then give the final answer as a number on its own line, like "#### 42".

Problem: {prompt}`,
  feedback: `Check this solution to a math word problem. Verify every step and the final number.

Problem: {prompt}

Proposed solution:
{answer}

${FEEDBACK_FORMAT}`,
  refine: `Problem: {prompt}

Earlier attempts and the feedback they received:

{history}

Write a corrected solution that fixes every weakness named above. Show your working briefly and end with the final answer as a number on its own line, like "#### 42".`,
  historyEntry: HISTORY_ENTRY,
  metaPrompt: META_PROMPT,
  metaCompletion: META_COMPLETION,
};

export const INSTRUCTION_TEMPLATES: PromptTemplates = {
  system: 'You are a helpful assistant who follows every instruction exactly.',
  draft: '{prompt}',
  feedback: `Here is an instruction and a reply to it. Check whether the reply follows every part of the instruction exactly (lengths, counts, words to use or avoid, format).

Instruction: {prompt}

Reply:
{answer}

${FEEDBACK_FORMAT}`,
  refine: `Instruction: {prompt}

Earlier replies and the feedback they received:

{history}

Write a new reply that follows every part of the instruction and fixes each weakness named above. Reply with the new answer only.`,
  historyEntry: HISTORY_ENTRY,
  metaPrompt: META_PROMPT,
  metaCompletion: META_COMPLETION,
};

export const OPEN_TEMPLATES: PromptTemplates = {
  system: 'You are a helpful, thoughtful assistant.',
  draft: '{prompt}',
  feedback: `Here is a request and a response to it. Review the response for helpfulness, accuracy, clarity and completeness.

Request: {prompt}

Response:
{answer}

${FEEDBACK_FORMAT}
Use "correct" as the verdict when the response needs no changes.`,
  refine: `Request: {prompt}

Earlier responses and the feedback they received:

{history}

Write an improved response that addresses the feedback. Reply with the new response only.`,
  historyEntry: HISTORY_ENTRY,
  metaPrompt: META_PROMPT,
  metaCompletion: META_COMPLETION,
};
