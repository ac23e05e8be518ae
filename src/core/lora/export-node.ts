/**
 * Node only (CLI, tests): writes exported files into a folder. Each file is written to a temporary name and
 * renamed into place, so a failure half-way never leaves a truncated adapter behind.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { AppError } from '../errors.ts';

export async function writeFilesToFolder(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<string[]> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const written: string[] = [];
  for (const [name, bytes] of files) {
    const target = resolve(root, name);
    if (!target.startsWith(root + sep)) throw new AppError('bad-input', `"${name}" would be written outside ${root}.`);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.partial`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    written.push(target);
  }
  return written;
}

/** Reads the named files of a folder; missing files are skipped unless `required`. */
export async function readFilesFromFolder(
  dir: string,
  names: readonly string[],
  options: { required?: readonly string[] } = {},
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of names) {
    try {
      out.set(name, new Uint8Array(await readFile(join(dir, name))));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
      if (options.required?.includes(name)) {
        throw new AppError('not-found', `${join(dir, name)} is missing; the folder must contain ${options.required.join(', ')}.`);
      }
    }
  }
  return out;
}
