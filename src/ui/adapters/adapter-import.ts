/**
 * Importing a PEFT adapter (a folder with adapter_config.json + adapter_model.safetensors, or a zip of one, read
 * by the checked zip reader): the files are read, the engine adds the adapter to the loaded model — which checks
 * every tensor and names the first bad one (AppError 'adapter-mismatch') — and only then is it stored, with its
 * GGUF export. Nothing is stored when any step fails.
 */
import { AppError } from '../../core/errors.ts';
import type { AdapterFiles } from '../../core/engine/tfjs/api.ts';
import type { AdapterEngine } from '../../core/engine/capabilities.ts';
import { decodeUtf8 } from '../../core/io/text-decode.ts';
import { unzipBlob } from '../../core/io/zip.ts';
import { addAdapter } from '../../db/adapters.ts';
import type { StudioDb } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import type { Adapter } from '../../db/types.ts';
import { loraFromPeftJson } from './adapter-files.ts';
import { markDropped, markHeld } from './adapter-sync.ts';

const CONFIG = 'adapter_config.json';
const WEIGHTS = 'adapter_model.safetensors';

/** The last path part ("my-adapter/adapter_config.json" → "adapter_config.json"). */
function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Picks the PEFT pair out of named files (a folder's or a zip's); says what is missing. */
export function peftPair(files: ReadonlyMap<string, Uint8Array>): AdapterFiles {
  const find = (name: string) => {
    const hits = [...files.keys()].filter((k) => baseName(k) === name);
    if (hits.length > 1) throw new AppError('bad-input', `There are ${hits.length} files named ${name}; give one adapter at a time.`);
    return hits.length === 1 ? files.get(hits[0])! : null;
  };
  const config = find(CONFIG);
  const weights = find(WEIGHTS);
  if (!config || !weights) {
    const missing = [!config ? CONFIG : null, !weights ? WEIGHTS : null].filter(Boolean).join(' and ');
    const bin = [...files.keys()].some((k) => baseName(k) === 'adapter_model.bin');
    throw new AppError(
      'bad-input',
      `The adapter lacks ${missing}. Give the folder (or a zip) that PEFT's save_pretrained wrote` +
        (bin ? '; adapter_model.bin (PyTorch pickle) is not read: save with safe_serialization=True.' : '.'),
    );
  }
  return { adapterConfig: decodeUtf8(config, CONFIG), safetensors: weights };
}

/** Reads picked files: one .zip, or the files of a folder. */
export async function readAdapterUpload(files: readonly File[]): Promise<AdapterFiles> {
  if (files.length === 0) throw new AppError('bad-input', 'Pick an adapter folder or a zip file.');
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) {
    // Only the PEFT files are inflated; the others (a README, adapter.gguf) are checked from their headers.
    const wanted = new Set([CONFIG, WEIGHTS, 'adapter_model.bin']);
    return peftPair(await unzipBlob(files[0], { want: (name) => wanted.has(baseName(name)) }));
  }
  const map = new Map<string, Uint8Array>();
  for (const f of files) {
    const name = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    if (baseName(name) === CONFIG || baseName(name) === WEIGHTS || baseName(name) === 'adapter_model.bin') {
      map.set(name, new Uint8Array(await f.arrayBuffer()));
    }
  }
  return peftPair(map);
}

/** Checks the adapter against the loaded model (in the engine), then stores it with its GGUF export. */
export async function importAdapter(db: StudioDb, engine: AdapterEngine, experimentId: string, name: string, files: AdapterFiles): Promise<Adapter> {
  if (engine.modelId === null) throw new AppError('bad-input', 'Load the model the adapter belongs to first: it is checked against that model.');
  const lora = loraFromPeftJson(files.adapterConfig);
  const id = newId();
  await engine.addAdapter(id, files);
  try {
    const exported = await engine.exportAdapter(id, { gguf: true });
    const row = await addAdapter(db, {
      id,
      experimentId,
      name: name.trim() || 'Imported adapter',
      baseModelId: engine.modelId,
      config: lora,
      weights: new Blob([files.safetensors as Uint8Array<ArrayBuffer>]),
      gguf: exported.gguf ? new Blob([exported.gguf as Uint8Array<ArrayBuffer>]) : null,
      trainingRunId: null,
    });
    markHeld(engine, id);
    return row;
  } catch (e) {
    await engine.removeAdapter(id).catch(() => undefined);
    markDropped(engine, id);
    throw e;
  }
}
