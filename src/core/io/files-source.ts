/**
 * A model folder the user picked (`<input type=file webkitdirectory>`) or dropped: a list of Files whose
 * `webkitRelativePath` is "<folder>/<path>". Plain files (no relative path) are taken by their names.
 */
import { AppError } from '../errors.ts';
import { blobSource } from './byte-source.ts';
import type { ModelSource } from './model-source.ts';

export function filesSource(files: Iterable<File> | ArrayLike<File>): ModelSource {
  const list = Array.from(files as ArrayLike<File>);
  if (list.length === 0) throw new AppError('bad-input', 'No files were picked. Pick the folder that holds config.json and the model files.');
  const relative = list.map((f) => (f.webkitRelativePath || f.name).replace(/\\/g, '/'));
  // Strip the picked folder's own name when every file shares it.
  const first = relative[0].split('/')[0];
  const shared = relative.every((p) => p.includes('/') && p.split('/')[0] === first);
  const byPath = new Map<string, File>();
  list.forEach((f, i) => byPath.set(shared ? relative[i].slice(first.length + 1) : relative[i], f));
  const folder = shared ? first : 'picked files';
  const fingerprint = [...byPath.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([p, f]) => `${p}:${f.size}:${f.lastModified}`)
    .join('|');
  return {
    id: `files:${folder}:${hashString(fingerprint)}`,
    label: `the folder ${folder}`,
    open: async (path) => {
      const f = byPath.get(path);
      return f ? blobSource(path, f) : null;
    },
  };
}

/** FNV-1a, 32-bit, as hex: a short fingerprint, not a security measure. */
function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
