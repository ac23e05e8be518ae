/** What `lm merge` and `lm export-gguf` share: flag errors, the model's name, sizes. */
import { resolve } from 'node:path';
import { AppError } from '../core/errors.ts';
import { modelNameFromFolder } from '../core/gguf/general.ts';

/** A problem with a folder the user named is bad input (exit code 2): the flag is named in the message. */
export async function fromFlag<T>(flag: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (e) {
    if (e instanceof AppError && e.code !== 'aborted' && e.code !== 'internal' && e.code !== 'bad-input') {
      throw new AppError('bad-input', `--${flag}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** --base-model when given, else the model folder's own name (never its path; see modelNameFromFolder). */
export function baseModelOf(explicit: string | undefined, modelDir: string, baseFiles: ReadonlyMap<string, Uint8Array>): string {
  if (explicit !== undefined && explicit.trim() !== '') return explicit.trim();
  let config: unknown = null;
  const bytes = baseFiles.get('config.json');
  try {
    config = bytes ? JSON.parse(new TextDecoder().decode(bytes)) : null;
  } catch {
    config = null;
  }
  return modelNameFromFolder(resolve(modelDir), config);
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** One line on the GGUF's tokenizer and Modelfile, for stderr. */
export function ggufNote(info: { pre: string; preExact: boolean; template: boolean; stops: readonly string[] }, modelfile = true): string {
  const pre = info.preExact ? `pre-tokenizer ${info.pre}` : `pre-tokenizer ${info.pre} (closest llama.cpp type; text may tokenize differently there)`;
  const tmpl = info.template ? 'Modelfile with TEMPLATE' : 'Modelfile without TEMPLATE (the chat template does not reduce to one)';
  return modelfile ? `${pre}; ${tmpl}; stop ${info.stops.length ? info.stops.join(' ') : '(none)'}` : pre;
}
