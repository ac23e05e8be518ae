/**
 * The prompt templates a stored run used, per task kind. Playground, SELF, SRT and evaluation runs write the
 * templates they resolved into `config.templates`, so samples built later, a resume and a replay use exactly
 * those. Runs without them fall back to the experiment's current templates; unreadable ones are a problem that
 * is named: a resume refuses them, and collecting samples reports them.
 */
import { AppError } from '../../core/errors.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { TEMPLATE_FIELDS, validateTemplates, type PromptTemplates, type TemplateField } from '../../core/refine/templates.ts';
import type { JsonObject } from '../../db/types.ts';
import { readRefineSettings, templatesFor } from '../playground/refine-settings.ts';
import { obj } from '../lib/stored-json.ts';

/** The usable templates stored in a run config, by kind, and a sentence for each kind that cannot be used. */
export function readStoredTemplates(config: JsonObject): { value: Record<string, PromptTemplates>; problems: string[] } {
  const value: Record<string, PromptTemplates> = {};
  const problems: string[] = [];
  const o = obj(config.templates);
  if (!o) return { value, problems };
  for (const [kind, t] of Object.entries(o)) {
    const to = obj(t);
    if (!to) {
      problems.push(`The stored run's templates for "${kind}" are not an object.`);
      continue;
    }
    const full = {} as Record<TemplateField, string>;
    for (const f of Object.keys(TEMPLATE_FIELDS) as TemplateField[]) full[f] = typeof to[f] === 'string' ? (to[f] as string) : '';
    try {
      validateTemplates(full);
      value[kind] = full;
    } catch (e) {
      problems.push(`The stored run's templates for "${kind}" cannot be used (${e instanceof Error ? e.message : String(e)}).`);
    }
  }
  return { value, problems };
}

/** The templates a stored run used, exactly (a resume goes on with them); AppError('bad-input') naming an unusable one. */
export function storedTemplates(config: JsonObject): Record<string, PromptTemplates> {
  const { value, problems } = readStoredTemplates(config);
  if (problems.length > 0) throw new AppError('bad-input', `${problems[0]} Start a new run.`);
  return value;
}

/**
 * Templates per kind for a run: the run's own, else the experiment's (defaults + its edits). `problems` names
 * the run's templates that could not be used, for which the experiment's stand in.
 */
export function templatesResolver(
  runConfig: JsonObject | null,
  experimentSettings: JsonObject,
  registry: KindRegistry = kindRegistry,
): { resolve: (kind: string) => PromptTemplates; problems: string[] } {
  const own = runConfig ? readStoredTemplates(runConfig) : { value: {}, problems: [] };
  const settings = readRefineSettings(experimentSettings, registry).value;
  return { resolve: (kind) => own.value[kind] ?? templatesFor(kind, settings, registry), problems: own.problems };
}

/** The experiment's templates for the given kinds, as JSON for a new run's config. */
export function templatesJson(kinds: Iterable<string>, experimentSettings: JsonObject, registry: KindRegistry = kindRegistry): JsonObject {
  const { resolve } = templatesResolver(null, experimentSettings, registry);
  const out: JsonObject = {};
  for (const k of new Set(kinds)) out[k] = { ...resolve(k) };
  return out;
}
