/**
 * The OpenAI-compatible endpoint (base URL, model, API key) the user typed, kept in THIS browser only: one
 * row of the app-wide settings table, which bundles never export. Experiments store only `{kind: 'openai'}`.
 */
import { AppError } from '../../core/errors.ts';
import { normalizeBaseUrl } from '../../core/engine/openai/engine.ts';
import type { StudioDb } from '../../db/db.ts';
import { deleteSetting, getSetting, setSetting } from '../../db/settings.ts';
import type { JsonValue } from '../../db/types.ts';

export const ENDPOINT_SETTING_KEY = 'engines.openai-endpoint';

export interface Endpoint {
  baseUrl: string;
  model: string;
  /** May be empty (local servers without keys). */
  apiKey: string;
}

/** Checks what was typed; trims, and drops a pasted `/chat/completions`. */
export function checkEndpoint(e: Endpoint): Endpoint {
  const baseUrl = normalizeBaseUrl(e.baseUrl);
  const model = e.model.trim();
  if (model === '') throw new AppError('bad-input', 'Enter the model name the endpoint serves (e.g. gpt-4o-mini or llama3).');
  if (model.length > 200) throw new AppError('bad-input', 'The model name is too long (over 200 characters).');
  if (e.apiKey.length > 1000) throw new AppError('bad-input', 'The API key is too long (over 1000 characters).');
  return { baseUrl, model, apiKey: e.apiKey.trim() };
}

/** The stored endpoint, or null when none is saved (or the stored row is unreadable). */
export async function loadEndpoint(db: StudioDb): Promise<Endpoint | null> {
  const v = await getSetting<JsonValue>(db, ENDPOINT_SETTING_KEY, null);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const { baseUrl, model, apiKey } = v;
  if (typeof baseUrl !== 'string' || typeof model !== 'string' || typeof apiKey !== 'string') return null;
  try {
    return checkEndpoint({ baseUrl, model, apiKey });
  } catch {
    return null;
  }
}

export async function saveEndpoint(db: StudioDb, e: Endpoint): Promise<Endpoint> {
  const checked = checkEndpoint(e);
  await setSetting(db, ENDPOINT_SETTING_KEY, { baseUrl: checked.baseUrl, model: checked.model, apiKey: checked.apiKey });
  return checked;
}

export async function forgetEndpoint(db: StudioDb): Promise<void> {
  await deleteSetting(db, ENDPOINT_SETTING_KEY);
}
