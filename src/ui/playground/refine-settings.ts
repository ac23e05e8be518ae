/**
 * The Self-Refine settings of an experiment, kept in its settings under `refine` (exported with it):
 *
 *   settings.refine = {
 *     params:     { maxTokens, temperature, topP?, topK?, seed }   // sampling for every call; maxTokens null =
 *                                                                  // each task kind's own budget per step
 *     stop:       StopRules                                       // src/core/refine/plan.ts
 *     oracle:     'off' | 'accompany' | 'replace'                  // the checker as a labelled feedback source
 *     templates:  { [taskKind]: Partial<PromptTemplates> }         // edits over the kind's defaults
 *     historyLimit: number | null                                 // attempts quoted in refine prompts
 *     stepThrough: boolean                                        // pause before each engine call
 *     batchSize:  number                                          // requests per chatBatch call
 *   }
 * Stored values are untrusted (bundles, older versions): `readRefineSettings` keeps what is valid, falls back
 * to defaults for the rest, and says what it dropped.
 */
import { AppError } from '../../core/errors.ts';
import type { GenerationParams } from '../../core/engine/types.ts';
import type { BudgetChoice } from '../../core/refine/budgets.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import type { OracleMode } from '../../core/refine/oracle.ts';
import { DEFAULT_STOP_RULES, validateStopRules, type StopRules } from '../../core/refine/plan.ts';
import { TEMPLATE_FIELDS, withOverrides, type PromptTemplates, type TemplateField } from '../../core/refine/templates.ts';
import type { JsonObject } from '../../db/types.ts';
import { obj } from '../lib/stored-json.ts';

export interface SamplingParams {
  /** One limit for every step, or null for each task kind's own budgets (draft, feedback, refinement). */
  maxTokens: number | null;
  /** 0 = greedy. */
  temperature: number;
  topP: number | null;
  topK: number | null;
  seed: number;
}

export interface RefineSettings {
  params: SamplingParams;
  stop: StopRules;
  oracle: OracleMode;
  templates: Record<string, Partial<PromptTemplates>>;
  historyLimit: number | null;
  stepThrough: boolean;
  batchSize: number;
}

export const DEFAULT_SAMPLING: SamplingParams = { maxTokens: null, temperature: 0, topP: null, topK: null, seed: 0 };

export const DEFAULT_REFINE_SETTINGS: RefineSettings = {
  params: DEFAULT_SAMPLING,
  stop: { ...DEFAULT_STOP_RULES },
  oracle: 'off',
  templates: {},
  historyLimit: null,
  stepThrough: false,
  batchSize: 8,
};

/** Throws a clear error unless the sampling settings are usable. */
export function validateSampling(p: SamplingParams): void {
  const bad = (m: string) => new AppError('bad-input', m);
  if (p.maxTokens !== null && (!Number.isInteger(p.maxTokens) || p.maxTokens < 1 || p.maxTokens > 8192)) {
    throw bad(`Max new tokens must be a whole number from 1 to 8192, or empty for each task kind's own budgets (got ${p.maxTokens}).`);
  }
  if (!(p.temperature >= 0 && p.temperature <= 2)) throw bad(`Temperature must be between 0 and 2 (got ${p.temperature}).`);
  if (p.topP !== null && !(p.topP > 0 && p.topP <= 1)) throw bad(`Top-p must be above 0 and at most 1, or empty (got ${p.topP}).`);
  if (p.topK !== null && !(Number.isInteger(p.topK) && p.topK >= 1)) throw bad(`Top-k must be a whole number ≥ 1, or empty (got ${p.topK}).`);
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff) throw bad(`The seed must be a whole number from 0 to 4294967295 (got ${p.seed}).`);
}

export function validateRefineSettings(s: RefineSettings, registry: KindRegistry = kindRegistry): void {
  validateSampling(s.params);
  validateStopRules(s.stop);
  if (!['off', 'accompany', 'replace'].includes(s.oracle)) throw new AppError('bad-input', `The oracle must be off, accompany or replace (got "${s.oracle}").`);
  if (s.historyLimit !== null && !(Number.isInteger(s.historyLimit) && s.historyLimit >= 1 && s.historyLimit <= 50)) {
    throw new AppError('bad-input', `The history limit must be a whole number from 1 to 50, or empty for all (got ${s.historyLimit}).`);
  }
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1 || s.batchSize > 64) {
    throw new AppError('bad-input', `The batch size must be a whole number from 1 to 64 (got ${s.batchSize}).`);
  }
  for (const [kind, edits] of Object.entries(s.templates)) {
    if (registry.has(kind)) withOverrides(registry.templates(kind), edits);
  }
}

/** GenerationParams for the engines (empty fields left out; the token budgets come per task kind, budgets.ts). */
export function generationParams(p: SamplingParams): GenerationParams {
  const out: GenerationParams = { temperature: p.temperature, seed: p.seed };
  if (p.topP !== null) out.topP = p.topP;
  if (p.topK !== null) out.topK = p.topK;
  return out;
}

function pick<T>(problems: string[], what: string, read: () => T, fallback: T): T {
  try {
    return read();
  } catch (e) {
    problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    return fallback;
  }
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function readTemplates(v: unknown, registry: KindRegistry): Record<string, Partial<PromptTemplates>> {
  const o = obj(v);
  if (!o) return {};
  const out: Record<string, Partial<PromptTemplates>> = {};
  for (const [kind, edits] of Object.entries(o)) {
    const e = obj(edits);
    if (!e) continue;
    const clean: Partial<PromptTemplates> = {};
    for (const [field, value] of Object.entries(e)) {
      if (field in TEMPLATE_FIELDS && typeof value === 'string') clean[field as TemplateField] = value;
    }
    if (registry.has(kind)) withOverrides(registry.templates(kind), clean); // throws when they cannot work
    out[kind] = clean;
  }
  return out;
}

/** The settings stored in an experiment, with defaults for whatever is missing or invalid. */
export function readRefineSettings(settings: JsonObject, registry: KindRegistry = kindRegistry): { value: RefineSettings; problems: string[] } {
  const problems: string[] = [];
  const o = obj(settings.refine) ?? {};
  const d = DEFAULT_REFINE_SETTINGS;
  const p = obj(o.params) ?? {};
  const params = pick(problems, 'Sampling', () => {
    const v: SamplingParams = {
      maxTokens: p.maxTokens === undefined ? d.params.maxTokens : numOrNull(p.maxTokens),
      temperature: num(p.temperature, d.params.temperature),
      topP: numOrNull(p.topP),
      topK: numOrNull(p.topK),
      seed: num(p.seed, d.params.seed),
    };
    validateSampling(v);
    return v;
  }, d.params);
  const s = obj(o.stop) ?? {};
  const stop = pick(problems, 'Stop rules', () => {
    const v: StopRules = {
      maxRounds: num(s.maxRounds, d.stop.maxRounds),
      scoreThreshold: s.scoreThreshold === null ? null : num(s.scoreThreshold, d.stop.scoreThreshold ?? 9),
      stopOnNoIssues: typeof s.stopOnNoIssues === 'boolean' ? s.stopOnNoIssues : d.stop.stopOnNoIssues,
      stopOnUnchanged: typeof s.stopOnUnchanged === 'boolean' ? s.stopOnUnchanged : d.stop.stopOnUnchanged,
      maxUnparsedInRow: num(s.maxUnparsedInRow, d.stop.maxUnparsedInRow ?? 2),
    };
    validateStopRules(v);
    return v;
  }, d.stop);
  const oracle: OracleMode = o.oracle === 'accompany' || o.oracle === 'replace' ? o.oracle : 'off';
  const templates = pick(problems, 'Templates', () => readTemplates(o.templates, registry), {});
  const historyLimit = pick(problems, 'History limit', () => {
    const h = numOrNull(o.historyLimit);
    if (h !== null && !(Number.isInteger(h) && h >= 1 && h <= 50)) throw new AppError('bad-input', `must be 1 to 50 (got ${h})`);
    return h;
  }, null);
  const batchSize = pick(problems, 'Batch size', () => {
    const b = num(o.batchSize, d.batchSize);
    if (!Number.isInteger(b) || b < 1 || b > 64) throw new AppError('bad-input', `must be 1 to 64 (got ${b})`);
    return b;
  }, d.batchSize);
  const stepThrough = o.stepThrough === true;
  return { value: { params, stop, oracle, templates, historyLimit, stepThrough, batchSize }, problems };
}

/** The experiment's settings with these refine settings written in (other keys untouched). */
export function writeRefineSettings(settings: JsonObject, s: RefineSettings, registry: KindRegistry = kindRegistry): JsonObject {
  validateRefineSettings(s, registry);
  const templates: JsonObject = {};
  for (const [kind, edits] of Object.entries(s.templates)) {
    const clean: JsonObject = {};
    for (const [f, v] of Object.entries(edits)) if (typeof v === 'string') clean[f] = v;
    if (Object.keys(clean).length > 0) templates[kind] = clean;
  }
  return {
    ...settings,
    refine: {
      params: { maxTokens: s.params.maxTokens, temperature: s.params.temperature, topP: s.params.topP, topK: s.params.topK, seed: s.params.seed },
      stop: {
        maxRounds: s.stop.maxRounds,
        scoreThreshold: s.stop.scoreThreshold,
        stopOnNoIssues: s.stop.stopOnNoIssues,
        stopOnUnchanged: s.stop.stopOnUnchanged,
        maxUnparsedInRow: s.stop.maxUnparsedInRow ?? 2,
      },
      oracle: s.oracle,
      templates,
      historyLimit: s.historyLimit,
      stepThrough: s.stepThrough,
      batchSize: s.batchSize,
    },
  };
}

/** The budget choice of these settings: one limit for every step, or each kind's own (null). */
export function budgetChoice(s: RefineSettings): BudgetChoice {
  return { answerTokens: s.params.maxTokens, feedbackTokens: s.params.maxTokens };
}

/** The full templates a task kind runs with under these settings (defaults + the experiment's edits). */
export function templatesFor(kind: string, s: RefineSettings, registry: KindRegistry = kindRegistry): PromptTemplates {
  return withOverrides(registry.templates(kind), s.templates[kind] ?? null);
}

/** Only the fields that differ from the kind's defaults (what is worth storing as an edit). */
export function templateEdits(kind: string, edited: PromptTemplates, registry: KindRegistry = kindRegistry): Partial<PromptTemplates> {
  const base = registry.templates(kind);
  const out: Partial<PromptTemplates> = {};
  for (const f of Object.keys(TEMPLATE_FIELDS) as TemplateField[]) if (edited[f] !== base[f]) out[f] = edited[f];
  return out;
}
