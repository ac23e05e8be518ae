/**
 * Zip archives of named files (fflate), for downloads in the browser. Binary weights are stored without
 * compression (float data barely compresses and storing is much faster); text files are deflated.
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { AppError } from '../errors.ts';

const STORED = /\.(safetensors|gguf|bin|zip)$/i;

/** A zip of the files, in the given order. Names are paths inside the archive ("a/b.json"). */
export function zipFiles(files: ReadonlyMap<string, Uint8Array>, options: { level?: 0 | 1 | 6 | 9 } = {}): Uint8Array<ArrayBuffer> {
  const tree: Zippable = {};
  for (const [name, data] of files) {
    if (name.length === 0 || name.startsWith('/') || name.split('/').some((p) => p === '..' || p === '')) {
      throw new AppError('bad-input', `"${name}" is not a safe file name inside a zip archive.`);
    }
    tree[name] = [data, { level: STORED.test(name) ? 0 : (options.level ?? 6) }];
  }
  return zipSync(tree, { mtime: new Date('2025-01-01T00:00:00Z') });
}

/** The files of a zip archive (directories omitted). */
export function unzipFiles(data: Uint8Array): Map<string, Uint8Array> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(data);
  } catch (e) {
    throw new AppError('bad-input', 'The file is not a readable zip archive.', { cause: e });
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, bytes] of Object.entries(entries)) if (!name.endsWith('/')) out.set(name, bytes);
  return out;
}
