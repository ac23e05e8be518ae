/**
 * The prompt templates a stored run used, per task kind. Playground, SELF, SRT and evaluation runs write the
 * templates they resolved into `config.templates`, so samples built later, a resume and a replay use exactly
 * those. Runs without them (or with unreadable ones) fall back to the experiment's current templates.
 */
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { TEMPLATE_FIELDS, validateTemplates, type PromptTemplates, type TemplateField } from '../../core/refine/templates.ts';
import type { JsonObject } from '../../db/types.ts';
import { readRefineSettings, templatesFor } from '../playground/refine-settings.ts';
import { obj } from '../lib/stored-json.ts';

/** The valid templates stored in a run config, by kind (invalid entries are left out). */
export function storedTemplates(config: JsonObject): Record<string, PromptTemplates> {
  const out: Record<string, PromptTemplates> = {};
  const o = obj(config.templates);
  if (!o) return out;
  for (const [kind, t] of Object.entries(o)) {
    const to = obj(t);
    if (!to) continue;
    const full = {} as Record<TemplateField, string>;
    for (const f of Object.keys(TEMPLATE_FIELDS) as TemplateField[]) full[f] = typeof to[f] === 'string' ? (to[f] as string) : '';
    try {
      validateTemplates(full);
      out[kind] = full;
    } catch {
      // Unusable: the experiment's templates stand in.
    }
  }
  return out;
}

/** Templates per kind for a run: the run's own, else the experiment's (defaults + its edits). */
export function templatesResolver(
  runConfig: JsonObject | null,
  experimentSettings: JsonObject,
  registry: KindRegistry = kindRegistry,
): (kind: string) => PromptTemplates {
  const own = runConfig ? storedTemplates(runConfig) : {};
  const settings = readRefineSettings(experimentSettings, registry).value;
  return (kind) => own[kind] ?? templatesFor(kind, settings, registry);
}

/** The experiment's templates for the given kinds, as JSON for a new run's config. */
export function templatesJson(kinds: Iterable<string>, experimentSettings: JsonObject, registry: KindRegistry = kindRegistry): JsonObject {
  const resolve = templatesResolver(null, experimentSettings, registry);
  const out: JsonObject = {};
  for (const k of new Set(kinds)) out[k] = { ...resolve(k) };
  return out;
}
