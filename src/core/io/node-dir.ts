/**
 * Node only: a model folder on disk. Imported by the CLI and tests, never by code that ships to the browser.
 * Files are read by range through a file handle, so a large checkpoint is never read whole.
 */
import { open, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { AppError } from '../errors.ts';
import { checkRange, type ByteSource } from './byte-source.ts';
import type { ModelSource } from './model-source.ts';

export async function nodeDirSource(dir: string): Promise<ModelSource> {
  const root = resolve(dir);
  const st = await stat(root).catch(() => null);
  if (!st || !st.isDirectory()) {
    throw new AppError('not-found', `${dir} is not a folder. Pass the folder that holds config.json and the model files.`);
  }
  return {
    id: `dir:${root}`,
    label: `the folder ${root}`,
    open: async (path) => {
      const file = resolve(root, path);
      if (!file.startsWith(root + sep)) throw new AppError('bad-input', `${path} is outside ${root}.`);
      const fst = await stat(file).catch(() => null);
      if (!fst || !fst.isFile()) return null;
      return fileSource(path, file, fst.size);
    },
  };
}

function fileSource(name: string, file: string, size: number): ByteSource {
  return {
    name,
    size,
    read: async (offset, length) => {
      checkRange(name, size, offset, length);
      const out = new Uint8Array(length);
      const fh = await open(file, 'r');
      try {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(out, done, length - done, offset + done);
          if (bytesRead === 0) throw new AppError('bad-input', `${name} got shorter while it was being read. Reload the model.`);
          done += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out;
    },
  };
}
