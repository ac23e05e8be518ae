/**
 * The adapters a host holds for its loaded model, by the ids its callers chose: added from PEFT files (checked
 * against the model; a mismatch names the first bad tensor), made by training, exported as PEFT (+ GGUF).
 * Every adapter belongs to the model it was checked against: unloading the model clears the store.
 */
import { AppError } from '../../errors.ts';
import { memorySource } from '../../io/memory-source.ts';
import { loraToGguf } from '../../lora/gguf.ts';
import { disposeLora, loadPeftAdapter } from '../../lora/peft-load.ts';
import { peftAdapterConfigJson, peftAdapterSafetensors } from '../../lora/peft-save.ts';
import type { LoraWeights } from '../../lora/types.ts';
import type { ModelConfig } from '../../model/types.ts';
import type { AdapterFiles } from './api.ts';

const ID = /^[\w.:@/-]{1,200}$/;

export function checkAdapterId(id: unknown): string {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new AppError('bad-input', `Adapter id ${JSON.stringify(id)} is not usable: use 1–200 letters, digits or . _ - : @ /.`);
  }
  return id;
}

export class AdapterStore {
  readonly #adapters = new Map<string, LoraWeights>();

  get size(): number {
    return this.#adapters.size;
  }

  has(id: string): boolean {
    return this.#adapters.has(id);
  }

  /** The adapter, or AppError('not-found') saying how to get it there. */
  get(id: string): LoraWeights {
    const w = this.#adapters.get(id);
    if (!w) {
      throw new AppError('not-found', `The engine has no adapter "${id}" (it may have been made before the model was reloaded). Add it again from its files.`);
    }
    return w;
  }

  /** Stores `weights` under `id` (replacing and freeing an adapter of the same id). */
  put(id: string, weights: LoraWeights): void {
    checkAdapterId(id);
    const old = this.#adapters.get(id);
    this.#adapters.set(id, weights);
    if (old && old !== weights) disposeLora(old);
  }

  /** Reads and checks PEFT files against `model`; the store keeps nothing if they do not fit. */
  async addFromFiles(id: string, files: AdapterFiles, model: ModelConfig): Promise<LoraWeights> {
    checkAdapterId(id);
    if (typeof files?.adapterConfig !== 'string' || !(files.safetensors instanceof Uint8Array)) {
      throw new AppError('bad-input', `Adapter "${id}": give adapter_config.json as text and adapter_model.safetensors as bytes.`);
    }
    const source = memorySource(
      `adapter:${id}`,
      new Map([
        ['adapter_config.json', new TextEncoder().encode(files.adapterConfig)],
        ['adapter_model.safetensors', files.safetensors],
      ]),
      `adapter "${id}"`,
    );
    const loaded = await loadPeftAdapter(source, model);
    const weights: LoraWeights = { config: loaded.config, scaling: loaded.scaling, modules: loaded.modules };
    this.put(id, weights);
    return weights;
  }

  remove(id: string): boolean {
    const w = this.#adapters.get(id);
    if (!w) return false;
    this.#adapters.delete(id);
    disposeLora(w);
    return true;
  }

  clear(): void {
    for (const w of this.#adapters.values()) disposeLora(w);
    this.#adapters.clear();
  }
}

/** PEFT files (+ GGUF) for adapter weights. */
export async function adapterFiles(weights: LoraWeights, model: ModelConfig, baseModel: string, gguf: boolean): Promise<AdapterFiles> {
  const files: AdapterFiles = {
    adapterConfig: peftAdapterConfigJson(weights.config, { baseModel }),
    safetensors: await peftAdapterSafetensors(weights),
  };
  if (gguf) files.gguf = await loraToGguf(weights, model, { baseModel });
  return files;
}

/** The buffers of adapter files, to transfer across a worker boundary instead of copying. */
export function adapterBuffers(files: AdapterFiles): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const b of [files.safetensors, files.gguf]) if (b && b.buffer instanceof ArrayBuffer && !out.includes(b.buffer)) out.push(b.buffer);
  return out;
}
