/**
 * Zip archives of named files (fflate), for downloads in the browser. Binary weights are stored without
 * compression (float data barely compresses and storing is much faster); text files are deflated. Reading goes
 * through the one checked reader (zip-read.ts).
 */
import { zipSync, type Zippable } from 'fflate';
import { AppError } from '../errors.ts';
import { mib, readZipEntries, ZipError, type ZipLimits, type ZipReadOptions } from './zip-read.ts';

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

/** Limits for a zip of model or adapter files held in memory: a few large weight files and their configs. */
export const FILES_ZIP_LIMITS: ZipLimits = {
  fileBytes: 2 * 2 ** 30,
  entries: 1000,
  entryBytes: 2 * 2 ** 30,
  totalBytes: 3 * 2 ** 30,
  ratio: 500,
};

/** The files of a zip archive (directories omitted), checked by the zip reader against `limits`. */
export function unzipFiles(data: Uint8Array, options: Partial<ZipReadOptions> = {}): Map<string, Uint8Array> {
  return readZipEntries(data, { limits: FILES_ZIP_LIMITS, ...options });
}

/** A picked or dropped zip file: refused by its size before it is read into memory, then read as unzipFiles does. */
export async function unzipBlob(blob: Blob, options: Partial<ZipReadOptions> = {}): Promise<Map<string, Uint8Array>> {
  const max = (options.limits ?? FILES_ZIP_LIMITS).fileBytes;
  if (blob.size > max) throw (options.fail ?? ((d: string) => new ZipError(d)))(`the file is ${mib(blob.size)}; at most ${mib(max)} can be read`);
  return unzipFiles(new Uint8Array(await blob.arrayBuffer()), options);
}
