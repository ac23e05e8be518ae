/**
 * Model files from a Hugging Face repo: `<baseUrl>/<repo>/resolve/<revision>/<file>` — a folder URL (see
 * url-source.ts for progress, retries and caching).
 */
import { AppError } from '../errors.ts';
import type { ModelSource } from './model-source.ts';
import { urlFolderSource, type FetchOptions } from './url-source.ts';

export const HF_BASE_URL = 'https://huggingface.co';

export interface HubOptions extends FetchOptions {
  /** Default https://huggingface.co; tests point it at the local stand-in. */
  baseUrl?: string;
  revision?: string;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

export function hubSource(repo: string, options: HubOptions = {}): ModelSource {
  if (!REPO_ID.test(repo) || repo.includes('..')) {
    throw new AppError('bad-input', `"${repo}" is not a Hugging Face repo id. Write it as owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.`);
  }
  const base = (options.baseUrl ?? HF_BASE_URL).replace(/\/+$/, '');
  const revision = options.revision ?? 'main';
  return urlFolderSource(`${base}/${repo}/resolve/${encodeURIComponent(revision)}/`, {
    ...options,
    id: `hub:${base}/${repo}@${revision}`,
    label: `the Hugging Face repo ${repo}`,
  });
}
