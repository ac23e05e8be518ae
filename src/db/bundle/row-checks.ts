/**
 * The schema of every bundle row, as validators (checks.ts). Each returns a fresh typed row; the compile-time
 * assertions at the bottom keep these in step with the row types in ../types.ts.
 */
import { ENGINE_KINDS } from '../../core/engine/types.ts';
import type { LoraConfig } from '../../core/lora/types.ts';
import { PROJECTIONS } from '../../core/model/types.ts';
import type { ParsedFeedback, StepKind, StepRecord, Verdict } from '../../core/refine/types.ts';
import type { ChatMessage } from '../../core/text/types.ts';
import { ID_PATTERN } from '../ids.ts';
import { NAME_MAX_CHARS } from '../names.ts';
import {
  RUN_KINDS,
  RUN_STATUSES,
  TASK_SPLITS,
  type Experiment,
  type Run,
  type Sample,
  type Step,
  type Task,
} from '../types.ts';
import {
  arrayOf,
  bool,
  FieldError,
  jsonObject,
  num,
  nullable,
  object,
  oneOf,
  optional,
  str,
  type Check,
  type JsonLimits,
} from './checks.ts';
import { BLOB_ENTRY, type BundleAdapter, type BundleLimits, type BundleTrainingRun } from './format.ts';

const STEP_KINDS = ['draft', 'feedback', 'refinement', 'oracle', 'evaluation'] as const satisfies readonly StepKind[];
const VERDICTS = ['correct', 'incorrect', 'unknown'] as const satisfies readonly Verdict[];
const PARSE_STATUSES = ['ok', 'partial', 'unparsed', 'n/a'] as const satisfies readonly StepRecord['parseStatus'][];
const SOURCES = ['self', 'critic', 'oracle'] as const satisfies readonly StepRecord['source'][];
const ROLES = ['system', 'user', 'assistant'] as const satisfies readonly ChatMessage['role'][];

// Every member of each union is listed above (a new member added to a type fails to compile here).
type Missing<U, L extends readonly unknown[]> = Exclude<U, L[number]>;
const complete: [
  Missing<StepKind, typeof STEP_KINDS>,
  Missing<Verdict, typeof VERDICTS>,
  Missing<StepRecord['parseStatus'], typeof PARSE_STATUSES>,
  Missing<StepRecord['source'], typeof SOURCES>,
  Missing<ChatMessage['role'], typeof ROLES>,
  Missing<StepRecord['engine'], [...typeof ENGINE_KINDS, 'oracle']>,
] extends [never, never, never, never, never, never]
  ? true
  : false = true;
void complete;

export const MAX_MESSAGES = 1_000;
export const MAX_LIST = 10_000;
export const MODEL_ID_CHARS = 500;
export const SHORT_TEXT_CHARS = 500;

export const id = str({ max: 36, pattern: ID_PATTERN, hint: 'an id (36 characters: hex digits and dashes)' });
const time = num({ min: 0, max: 8.64e15, integer: true });
const count = num({ min: 0, integer: true });
const rate = num({ min: 0 });
const round = num({ min: 0, max: 1_000_000, integer: true });
const modelId = str({ max: MODEL_ID_CHARS });

const name: Check<string> = (v, path) => {
  const s = str({ min: 1, max: NAME_MAX_CHARS })(v, path);
  if (s.trim() !== s) throw new FieldError(path, 'must not start or end with spaces');
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) throw new FieldError(path, 'must be one line without control characters');
  return s;
};

/** The checks for one bundle, sized by its limits. */
export function rowChecks(limits: BundleLimits) {
  const text = str({ max: limits.textChars });
  const json: JsonLimits = { maxDepth: 32, maxStringChars: limits.textChars, maxNodes: 100_000 };
  const config = jsonObject(json);

  const message: Check<ChatMessage> = object({ role: oneOf(ROLES), content: text });
  const messages = arrayOf(message, MAX_MESSAGES);

  const experiment: Check<Experiment> = object({
    id,
    name,
    modelId,
    engine: oneOf(ENGINE_KINDS),
    settings: config,
    createdAt: time,
    updatedAt: time,
  });

  const task: Check<Task> = object({
    id,
    experimentId: id,
    taskSetId: str({ min: 1, max: SHORT_TEXT_CHARS }),
    kind: str({ min: 1, max: SHORT_TEXT_CHARS }),
    prompt: text,
    reference: nullable(text),
    checker: nullable(config),
    split: oneOf(TASK_SPLITS),
    createdAt: time,
  });

  const run: Check<Run> = object({
    id,
    experimentId: id,
    kind: oneOf(RUN_KINDS),
    status: oneOf(RUN_STATUSES),
    config,
    progress: nullable(config),
    metrics: arrayOf(object({ round }, num()), MAX_LIST),
    startedAt: time,
    updatedAt: time,
    finishedAt: nullable(time),
    error: nullable(text),
  });

  const feedback: Check<ParsedFeedback> = object({
    weaknesses: arrayOf(text, MAX_LIST),
    suggestions: arrayOf(text, MAX_LIST),
    score: nullable(num()),
    verdict: oneOf(VERDICTS),
    noIssues: bool,
  });

  const step: Check<Step> = object({
    id,
    experimentId: id,
    runId: id,
    kind: oneOf(STEP_KINDS),
    taskId: id,
    loopId: str({ min: 1, max: SHORT_TEXT_CHARS }),
    evolutionRound: round,
    refineRound: round,
    text,
    prompt: messages,
    feedback: nullable(feedback),
    parseStatus: oneOf(PARSE_STATUSES),
    score: nullable(num()),
    promptTokens: count,
    completionTokens: count,
    finishReason: optional(oneOf(['stop', 'length'])),
    startedAt: time,
    durationMs: rate,
    prefillTokensPerSec: rate,
    decodeTokensPerSec: rate,
    seed: nullable(num()),
    engine: oneOf([...ENGINE_KINDS, 'oracle']),
    modelId,
    adapterId: nullable(id),
    source: oneOf(SOURCES),
  });

  const sample: Check<Sample> = object({
    id,
    experimentId: id,
    prompt: messages,
    chosen: text,
    rejected: nullable(text),
    feedback: nullable(text),
    provenance: object({ stepIds: arrayOf(id, MAX_LIST), runId: nullable(id), round }),
    included: bool,
    format: str({ min: 1, max: SHORT_TEXT_CHARS }),
    createdAt: time,
  });

  const trainingRun: Check<BundleTrainingRun> = object({
    id,
    experimentId: id,
    config,
    status: oneOf(RUN_STATUSES),
    startedAt: time,
    updatedAt: time,
    finishedAt: nullable(time),
    adapterId: nullable(id),
    error: nullable(text),
    metrics: arrayOf(
      object({ step: num({ min: 0, integer: true }), loss: num(), lr: num(), tokensPerSec: rate }, num()),
      limits.rows,
    ),
  });

  const lora: Check<LoraConfig> = object({
    r: num({ min: 1, max: 4096, integer: true }),
    alpha: num({ min: 0 }),
    dropout: num({ min: 0, max: 1 }),
    rslora: bool,
    targetModules: arrayOf(oneOf(PROJECTIONS), PROJECTIONS.length),
    layers: nullable(arrayOf(num({ min: 0, max: 100_000, integer: true }), 100_000)),
  });

  const entryName = str({ max: 64, pattern: BLOB_ENTRY, hint: 'an adapter entry name (adapters/<n>.safetensors or .gguf)' });
  const adapter: Check<BundleAdapter> = object({
    id,
    experimentId: id,
    name,
    baseModelId: modelId,
    config: lora,
    trainingRunId: nullable(id),
    createdAt: time,
    weightsEntry: entryName,
    ggufEntry: nullable(entryName),
  });

  return { experiment, task, run, step, sample, trainingRun, adapter };
}
