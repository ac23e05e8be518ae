/**
 * The files of an exported adapter: PEFT (`adapter_config.json`, `adapter_model.safetensors`), GGUF
 * (`adapter.gguf`) or both, and a `README.md` model card; as a Map (for a folder in Node, see export-node.ts)
 * or as one zip for a browser download.
 */
import { zipFiles } from '../io/zip.ts';
import type { ModelConfig } from '../model/types.ts';
import { loraPlainToGguf } from './gguf.ts';
import { modelCard, type ModelCardInfo } from './model-card.ts';
import { peftAdapterConfigJson, peftSafetensorsFromPlain } from './peft-save.ts';
import { loraToPlain } from './tensor-data.ts';
import type { LoraWeights } from './types.ts';

export type AdapterFormat = 'peft' | 'gguf' | 'both';

export interface AdapterExportInput {
  weights: LoraWeights;
  model: ModelConfig;
  /** Hugging Face id or path of the base model. */
  baseModel: string;
  format: AdapterFormat;
  /** What the model card reports about training. */
  card: Omit<ModelCardInfo, 'baseModel' | 'lora' | 'hasGguf'>;
}

export async function adapterExportFiles(input: AdapterExportInput): Promise<Map<string, Uint8Array>> {
  const { weights, model, baseModel, format } = input;
  const plain = await loraToPlain(weights);
  const files = new Map<string, Uint8Array>();
  if (format === 'peft' || format === 'both') {
    files.set('adapter_config.json', new TextEncoder().encode(peftAdapterConfigJson(weights.config, { baseModel })));
    files.set('adapter_model.safetensors', peftSafetensorsFromPlain(plain));
  }
  if (format === 'gguf' || format === 'both') {
    files.set('adapter.gguf', loraPlainToGguf(plain, weights.config, model, { baseModel }));
  }
  const card = modelCard({ ...input.card, baseModel, lora: weights.config, hasGguf: files.has('adapter.gguf') });
  files.set('README.md', new TextEncoder().encode(card));
  return files;
}

/** One zip with the exported files, for a browser download. */
export async function adapterExportZip(input: AdapterExportInput): Promise<Uint8Array<ArrayBuffer>> {
  return zipFiles(await adapterExportFiles(input));
}
