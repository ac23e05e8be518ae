/**
 * Where the tfjs engine finds a model named in an engine spec: a catalog id (the app's own embedded model is
 * served from the app's folder; a web-llm model's Hugging Face repo), a hub repo ('org/name'), or a URL / path
 * served by the app ('/models/x', 'https://…'). Paths resolve against the page's address.
 */
import { AppError } from '../../errors.ts';
import { findEntry } from '../catalog.ts';
import type { ModelSourceSpec } from './api.ts';

const REPO = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

export function resolveTfjsSource(modelId: string, baseHref: string | undefined, hubUrl?: string): ModelSourceSpec {
  const id = modelId.trim();
  const entry = findEntry(id);
  const url = (path: string): ModelSourceSpec => {
    if (!baseHref && !/^https?:\/\//i.test(path)) {
      throw new AppError('bad-input', `"${path}" is a path on the app's site, but the engine does not know the page's address.`);
    }
    return { kind: 'url', url: new URL(path.replace(/\/*$/, '/'), baseHref).href };
  };
  if (entry?.kind === 'tfjs-only') return url(entry.source.replace(/^\/+/, ''));
  if (entry?.kind === 'webllm') return { kind: 'hub', repo: entry.hfRepo, ...(hubUrl ? { baseUrl: hubUrl } : {}) };
  if (/^https?:\/\//i.test(id) || id.startsWith('/') || id.startsWith('./')) return url(id.startsWith('/') ? id.slice(1) : id);
  if (REPO.test(id)) return { kind: 'hub', repo: id, ...(hubUrl ? { baseUrl: hubUrl } : {}) };
  throw new AppError(
    'not-found',
    `"${modelId}" is not a model the tfjs engine knows: give a catalog id (e.g. toy-arith), a Hugging Face repo (owner/name) or a folder URL.`,
  );
}
