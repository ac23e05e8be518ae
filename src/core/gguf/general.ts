/**
 * GGUF `general.*` naming shared by the adapter and the full-model writers: general.name and the base model
 * (general.base_model.count / .0.name / .0.repo_url). A repo URL is written only for a name shaped like a hub id
 * (owner/name); callers pass names, never filesystem paths (see modelNameFromFolder).
 */
import type { GGUFValue } from '../io/gguf-write.ts';

/** `owner/name` as the Hugging Face hub spells repo ids: one slash, no leading dot or dash, no "..". */
export function isHubId(s: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(s) && !s.includes('..');
}

export function baseModelMetadata(baseModel: string | undefined): Array<[string, GGUFValue]> {
  if (!baseModel) return [];
  const out: Array<[string, GGUFValue]> = [
    ['general.base_model.count', { type: 'uint32', value: 1 }],
    ['general.base_model.0.name', { type: 'string', value: baseModel }],
  ];
  if (isHubId(baseModel)) out.push(['general.base_model.0.repo_url', { type: 'string', value: `https://huggingface.co/${baseModel}` }]);
  return out;
}

/**
 * The name a model folder goes by when the user gave none (no --base-model): the last part of config.json's
 * `_name_or_path`, else of the folder's path. Never a path, and never taken as a hub id: "/home/me/models/smol"
 * gives "smol", and a relative "models/smol" is a folder, not the repo of a hub user called "models". Only a name
 * the user passes explicitly is recorded as a hub repo.
 */
export function modelNameFromFolder(folderPath: string, config: unknown): string {
  const fromConfig = typeof config === 'object' && config !== null ? (config as Record<string, unknown>)._name_or_path : undefined;
  for (const p of [typeof fromConfig === 'string' ? fromConfig : '', folderPath]) {
    const tail = p.trim().replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
    if (tail !== '' && tail !== '.' && tail !== '..') return tail;
  }
  return 'model';
}
