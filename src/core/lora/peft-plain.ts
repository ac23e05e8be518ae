/**
 * A PEFT adapter read into plain Float32Arrays (no tfjs), checked against a model config exactly as
 * loadPeftAdapter checks it (parsePeftConfig + planModules). For work that never computes with the adapter
 * on tfjs, such as merging it into MLC weights in a small worker.
 */
import { AppError, throwIfAborted } from '../errors.ts';
import { readJson, type ModelSource, type OpenOptions } from '../io/model-source.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import type { ModelConfig } from '../model/types.ts';
import { parsePeftConfig, planModules } from './peft-load.ts';
import type { LoraPlainPair } from './tensor-data.ts';
import { loraScaling, type LoraConfig } from './types.ts';

export interface PlainPeftAdapter {
  config: LoraConfig;
  scaling: number;
  /** Module path → A [r, in] and B [out, r]. */
  modules: Map<string, LoraPlainPair>;
}

export async function readPeftAdapterPlain(source: ModelSource, model: ModelConfig, o: OpenOptions = {}): Promise<PlainPeftAdapter> {
  const { lora: config } = parsePeftConfig(await readJson(source, 'adapter_config.json', true, o));
  const bytes = await source.open('adapter_model.safetensors', o);
  if (!bytes) throw new AppError('not-found', `${source.label} has no adapter_model.safetensors. Only safetensors adapters can be loaded.`);
  const file = await SafetensorsFile.open(bytes);
  const shapes = new Map<string, number[]>();
  for (const name of file.names()) shapes.set(name, (file.entry(name) as { shape: number[] }).shape);
  const modules = new Map<string, LoraPlainPair>();
  for (const [path, names] of planModules(model, config, shapes)) {
    throwIfAborted(o.signal);
    const [a, b] = [await file.read(names.a), await file.read(names.b)];
    if (a.values.dtype !== 'float32' || b.values.dtype !== 'float32') {
      throw new AppError('adapter-mismatch', `This adapter does not fit the model: ${path} is stored as an integer type; LoRA weights must be F32, F16 or BF16.`);
    }
    modules.set(path, { a: { shape: a.shape, data: Float32Array.from(a.values.data) }, b: { shape: b.shape, data: Float32Array.from(b.values.data) } });
  }
  return { config, scaling: loraScaling(config), modules };
}
