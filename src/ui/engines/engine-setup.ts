/**
 * Which engines a person picked for an experiment, as plain JSON kept in the experiment's settings under
 * `engines` (and exported with it). It never holds the OpenAI-compatible endpoint's URL, model or key: an
 * `openai` choice only says "use this browser's endpoint" (endpoint-store.ts keeps those in the settings
 * table, which is never exported).
 *
 *   settings.engines = {
 *     actor:  EngineChoice,          // drafts and refinements (and feedback when there is no critic)
 *     critic: EngineChoice | null,   // a separate feedback source, or null for self-feedback
 *   }
 */
import { AppError } from '../../core/errors.ts';
import { evolvedBaseOf } from '../../core/engine/webllm/evolved.ts';
import { findEntry } from '../../core/engine/catalog.ts';
import type { TfjsBackendChoice } from '../../core/engine/spec.ts';
import { HF_BASE_URL } from '../../core/io/hub-source.ts';
import { REFERENCE_CRITIC_LABEL } from '../../core/toy/reference-critic.ts';
import type { JsonObject, JsonValue } from '../../db/types.ts';
import { obj } from '../lib/stored-json.ts';

/** Where the tfjs engine's model comes from. */
export type TfjsModelChoice =
  /** A model the app serves itself (public/models/<id>), e.g. the toy model. */
  | { from: 'embedded'; id: string }
  /** A Hugging Face repo ('org/name') on the hub or a mirror of it. */
  | { from: 'hub'; repo: string; hubUrl: string }
  /** A folder picked from disk: its files live only in this page, so it must be picked again after a reload. */
  | { from: 'folder'; name: string };

export type EngineChoice =
  | { kind: 'tfjs'; model: TfjsModelChoice; backend: TfjsBackendChoice }
  | { kind: 'webllm'; modelId: string }
  | { kind: 'openai' }
  /** The toy world's program annotator as a critic (src/core/toy/reference-critic.ts): not a model. */
  | { kind: 'reference' };

export interface EngineSetup {
  actor: EngineChoice;
  critic: EngineChoice | null;
}

export const TOY_MODEL_ID = 'toy-arith';

export const DEFAULT_ACTOR: EngineChoice = { kind: 'tfjs', model: { from: 'embedded', id: TOY_MODEL_ID }, backend: 'auto' };
export const DEFAULT_ENGINE_SETUP: EngineSetup = { actor: DEFAULT_ACTOR, critic: null };

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new AppError('bad-input', `The engine settings need ${what}.`);
  return v.trim();
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** Checks a hub repo id and mirror URL as typed in a form. */
export function checkHubChoice(repo: string, hubUrl: string): { repo: string; hubUrl: string } {
  const r = repo.trim();
  if (!REPO_ID.test(r) || r.includes('..')) {
    throw new AppError('bad-input', `"${repo}" is not a Hugging Face repo id. Write it as owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.`);
  }
  const u = (hubUrl.trim() || HF_BASE_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/i.test(u)) {
    throw new AppError('bad-input', `The hub address must start with http:// or https:// (got "${hubUrl}").`);
  }
  return { repo: r, hubUrl: u };
}

function parseTfjsModel(v: unknown): TfjsModelChoice {
  const o = obj(v);
  switch (o?.from) {
    case 'embedded': {
      const id = text(o.id, 'the embedded model id');
      const entry = findEntry(id);
      if (!entry || entry.kind !== 'tfjs-only') throw new AppError('bad-input', `"${id}" is not a model embedded in the app.`);
      return { from: 'embedded', id };
    }
    case 'hub': {
      const { repo, hubUrl } = checkHubChoice(text(o.repo, 'a Hugging Face repo id'), typeof o.hubUrl === 'string' ? o.hubUrl : '');
      return { from: 'hub', repo, hubUrl };
    }
    case 'folder':
      return { from: 'folder', name: typeof o.name === 'string' ? o.name.slice(0, 200) : 'picked folder' };
    default:
      throw new AppError('bad-input', 'The tfjs model must come from the app (embedded), a Hugging Face repo or a folder.');
  }
}

/** Checks one stored or submitted choice; says what is wrong. */
export function parseEngineChoice(v: unknown): EngineChoice {
  const o = obj(v);
  switch (o?.kind) {
    case 'tfjs': {
      const backend = o.backend ?? 'auto';
      if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'wasm') {
        throw new AppError('bad-input', `The tfjs backend must be auto, webgpu or wasm (got "${String(backend)}").`);
      }
      return { kind: 'tfjs', model: parseTfjsModel(o.model), backend };
    }
    case 'webllm': {
      const modelId = text(o.modelId, 'a web-llm model');
      // A catalog model, or an evolved model made from a catalog build (its files are in this browser's cache).
      const entry = findEntry(evolvedBaseOf(modelId) ?? modelId);
      if (!entry || entry.kind !== 'webllm') throw new AppError('bad-input', `"${modelId}" is not a web-llm model of the catalog.`);
      return { kind: 'webllm', modelId };
    }
    case 'openai':
      return { kind: 'openai' };
    case 'reference':
      return { kind: 'reference' };
    default:
      throw new AppError('bad-input', `Unknown engine "${String(o?.kind)}". Pick tfjs, webllm, openai or reference.`);
  }
}

/** The setup stored in an experiment's settings; the default when none (or an unreadable one) is stored. */
export function readEngineSetup(settings: JsonObject): { setup: EngineSetup; problem: string | null } {
  const raw = settings.engines;
  if (raw === undefined || raw === null) return { setup: DEFAULT_ENGINE_SETUP, problem: null };
  try {
    const o = obj(raw);
    if (!o) throw new AppError('bad-input', 'The stored engine settings are not an object.');
    return { setup: { actor: parseEngineChoice(o.actor), critic: o.critic == null ? null : parseEngineChoice(o.critic) }, problem: null };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { setup: DEFAULT_ENGINE_SETUP, problem: `The stored engine choice could not be read (${why}); showing the default.` };
  }
}

function modelJson(m: TfjsModelChoice): JsonObject {
  switch (m.from) {
    case 'embedded':
      return { from: 'embedded', id: m.id };
    case 'hub':
      return { from: 'hub', repo: m.repo, hubUrl: m.hubUrl };
    case 'folder':
      return { from: 'folder', name: m.name };
  }
}

function choiceJson(c: EngineChoice): JsonObject {
  switch (c.kind) {
    case 'tfjs':
      return { kind: 'tfjs', backend: c.backend, model: modelJson(c.model) };
    case 'webllm':
      return { kind: 'webllm', modelId: c.modelId };
    case 'openai':
      return { kind: 'openai' };
    case 'reference':
      return { kind: 'reference' };
  }
}

/** The experiment's settings with the setup written in (other keys untouched). */
export function writeEngineSetup(settings: JsonObject, setup: EngineSetup): JsonObject {
  const engines: JsonValue = { actor: choiceJson(setup.actor), critic: setup.critic ? choiceJson(setup.critic) : null };
  return { ...settings, engines };
}

/** A label for people; never contains a key. */
export function describeChoice(c: EngineChoice): string {
  switch (c.kind) {
    case 'tfjs': {
      const m = c.model;
      const model = m.from === 'embedded' ? (findEntry(m.id)?.label ?? m.id) : m.from === 'hub' ? m.repo : `folder ${m.name}`;
      return `tfjs · ${model}`;
    }
    case 'webllm':
      return `web-llm · ${findEntry(c.modelId)?.label ?? c.modelId}`;
    case 'openai':
      return 'OpenAI-compatible endpoint';
    case 'reference':
      return REFERENCE_CRITIC_LABEL;
  }
}

export function sameChoice(a: EngineChoice | null, b: EngineChoice | null): boolean {
  return JSON.stringify(a && choiceJson(a)) === JSON.stringify(b && choiceJson(b));
}
