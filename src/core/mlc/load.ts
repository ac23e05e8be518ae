/**
 * MLC folders in our runtime: MLC_READER plugs into `loadModel(source, { reader })` (src/core/model/load.ts),
 * so an MLC model loads like any other (tokenizer and chat template from the same folder's tokenizer.json
 * and tokenizer_config.json), and LoRA trains on the very weights web-llm computes with.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { ModelSource } from '../io/model-source.ts';
import { loadModel, type LanguageModel, type LoadOptions, type ModelReader } from '../model/load.ts';
import { transpose2d } from '../model/weights-load.ts';
import { allWeightTensors, emptyWeights, hfTensorSpecs, type ModelWeights } from '../model/weights.ts';
import { mlcHfTensors, openMlcModel, type MlcModel } from './read.ts';
import { CHAT_CONFIG_FILE, LEGACY_TENSOR_CACHE_FILE, TENSOR_CACHE_FILE } from './types.ts';

/** The MLC model last opened per source, so the index is parsed once per load. */
const opened = new WeakMap<ModelSource, MlcModel>();

export const MLC_READER: ModelReader = {
  async readConfig(source, open) {
    const m = await openMlcModel(source, open);
    opened.set(source, m);
    return m.chat.config;
  },
  async readWeights(source, config, o) {
    const m = opened.get(source) ?? (await openMlcModel(source, o));
    const specs = new Map(hfTensorSpecs(config).map((s) => [s.name, s]));
    const weights = emptyWeights(config);
    let done = 0;
    try {
      for await (const t of mlcHfTensors(m, o)) {
        const s = specs.get(t.name);
        if (!s) throw new Error(`unreachable: MLC layout yields ${t.name}, which the runtime does not hold`);
        const [rows, cols] = t.shape;
        s.set(weights, s.transposed ? tf.tensor(transpose2d(t.data, rows, cols), [cols, rows]) : tf.tensor(t.data, t.shape));
        o.onTensor?.(++done, specs.size, t.name);
      }
    } catch (e) {
      tf.dispose(allWeightTensors(weights).filter((t) => t != null));
      throw e;
    }
    return weights as ModelWeights;
  },
};

/** True when the folder is an MLC build (mlc-chat-config.json and tensor-cache.json, no config.json). */
export async function isMlcFolder(source: ModelSource): Promise<boolean> {
  const [chat, current, legacy, hf] = await Promise.all([CHAT_CONFIG_FILE, TENSOR_CACHE_FILE, LEGACY_TENSOR_CACHE_FILE, 'config.json'].map((f) => source.open(f)));
  const index = current ?? legacy;
  if (chat && !index) throw new AppError('mlc', `${source.label} has ${CHAT_CONFIG_FILE} but no ${TENSOR_CACHE_FILE}. The MLC model is incomplete; download it again.`);
  return chat !== null && index !== null && hf === null;
}

/** Loads an MLC folder into the runtime. */
export function loadMlcModel(source: ModelSource, o: LoadOptions = {}): Promise<LanguageModel> {
  return loadModel(source, { ...o, reader: MLC_READER });
}

/** Loads a folder in either layout (for local folders, where probing for files costs nothing). */
export async function loadAnyModel(source: ModelSource, o: LoadOptions = {}): Promise<LanguageModel> {
  return (await isMlcFolder(source)) ? loadMlcModel(source, o) : loadModel(source, o);
}
