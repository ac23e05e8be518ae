/**
 * Where a model's (or an adapter's) files come from: the Hugging Face hub, a folder the user picked, or a
 * directory in Node. Loaders only ever ask for a file by its path inside the model folder.
 */
import { AppError } from '../errors.ts';
import type { ByteSource } from './byte-source.ts';

/** Byte-level progress of one file. `total` is null when the server did not say. */
export interface ByteProgress {
  file: string;
  loaded: number;
  total: number | null;
  /** True when the bytes came from the local cache (no request was made). */
  fromCache: boolean;
}

/** Progress of loading a model as engines report it (phases of download, cache, compile, weights). */
export interface LoadProgress {
  /** e.g. 'download', 'cache', 'compile', 'weights' */
  phase: string;
  /** 0..1 when known. */
  fraction: number | null;
  text: string;
  /** Bytes fetched or read so far, when the engine reports them (web-llm reports whole MiB). */
  bytesLoaded?: number | null;
}

export interface OpenOptions {
  signal?: AbortSignal;
  onProgress?: (p: ByteProgress) => void;
}

export interface ModelSource {
  /** Stable identity: two sources with the same id hold the same files (used to share a loaded model). */
  readonly id: string;
  /** For messages: "the Hugging Face repo HuggingFaceTB/SmolLM2-135M-Instruct", "the folder my-model". */
  readonly label: string;
  /** The file at `path` (e.g. "config.json"), or null when the source has no such file. */
  open(path: string, options?: OpenOptions): Promise<ByteSource | null>;
}

/** A whole file as text, or null when absent. */
export async function readText(source: ModelSource, path: string, options?: OpenOptions): Promise<string | null> {
  const file = await source.open(path, options);
  if (!file) return null;
  const bytes = await file.read(0, file.size);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('bad-input', `${path} in ${source.label} is not UTF-8 text. Check that the right file is there.`);
  }
}

/** A JSON file, or null when absent and not required. */
export async function readJson(
  source: ModelSource,
  path: string,
  required: boolean,
  options?: OpenOptions,
): Promise<unknown> {
  const text = await readText(source, path, options);
  if (text === null) {
    if (!required) return null;
    throw new AppError('not-found', `${source.label} has no ${path}. A model folder needs config.json, tokenizer.json, tokenizer_config.json and model weights in safetensors.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('bad-input', `${path} in ${source.label} is not valid JSON (${e instanceof Error ? e.message : String(e)}). Replace the file with a correct copy.`);
  }
}
