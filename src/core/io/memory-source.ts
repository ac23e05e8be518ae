/** A model or adapter folder held in memory (e.g. adapter files read back from IndexedDB). */
import { bytesSource } from './byte-source.ts';
import type { ModelSource } from './model-source.ts';

/** `files` maps paths ("adapter_config.json") to their bytes; `id` must change when the contents do. */
export function memorySource(id: string, files: ReadonlyMap<string, Uint8Array>, label = `the files of ${id}`): ModelSource {
  return {
    id: `memory:${id}`,
    label,
    open: async (path) => {
      const f = files.get(path);
      return f ? bytesSource(path, f) : null;
    },
  };
}
