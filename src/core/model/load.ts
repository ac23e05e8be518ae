/**
 * Loads a model folder (Hugging Face layout) from any ModelSource into a LanguageModel: config, tokenizer with
 * chat template, generation settings and weights. Loading the same source again returns the same model (its
 * weights are shared and counted); each `loadModel` is matched by one `dispose()`.
 */
import { AppError, throwIfAborted } from '../errors.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import { readJson, readText, type ByteProgress, type LoadProgress, type ModelSource, type OpenOptions } from '../io/model-source.ts';
import { createTokenizer } from '../text/tokenizer.ts';
import type { TextTokenizer } from '../text/types.ts';
import { parseModelConfig } from './config.ts';
import type { LlamaModel } from './llama.ts';
import type { ModelConfig } from './types.ts';
import { disposeWeights, type ModelWeights } from './weights.ts';
import { loadWeights, type WeightsLoadOptions } from './weights-load.ts';

export interface LanguageModel extends LlamaModel {
  /** The source's id (hub repo, folder…): equal ids share one loaded model. */
  readonly id: string;
  readonly label: string;
  readonly config: ModelConfig;
  readonly weights: ModelWeights;
  readonly tokenizer: TextTokenizer;
  /** Longest sequence (prompt + completion) the model reads: max_position_embeddings. */
  readonly contextLength: number;
  /** Releases this holder; the weights are freed when the last holder disposes. */
  dispose(): void;
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  /** How the folder's config and weights are read: the Hugging Face layout unless given (see ModelReader). */
  reader?: ModelReader;
}

/**
 * Reads a folder's model config and weights; the tokenizer files are read the same way for every layout.
 * HF_READER reads config.json + safetensors; src/core/mlc/load.ts reads web-llm's MLC folders.
 */
export interface ModelReader {
  readConfig(source: ModelSource, open: OpenOptions): Promise<ModelConfig>;
  readWeights(source: ModelSource, config: ModelConfig, o: OpenOptions & WeightsLoadOptions): Promise<ModelWeights>;
}

const loaded = new Map<string, { model: Promise<LanguageModel>; holders: number }>();

export async function loadModel(source: ModelSource, o: LoadOptions = {}): Promise<LanguageModel> {
  const existing = loaded.get(source.id);
  if (existing) {
    existing.holders++;
    try {
      return await existing.model;
    } catch (e) {
      existing.holders--;
      throw e;
    }
  }
  const entry = { model: load(source, o, () => release(source.id)), holders: 1 };
  loaded.set(source.id, entry);
  try {
    return await entry.model;
  } catch (e) {
    if (loaded.get(source.id) === entry) loaded.delete(source.id);
    throw e;
  }
}

/** How many holders share the model loaded from `id` (0 = not loaded). For tests and diagnostics. */
export function loadedHolders(id: string): number {
  return loaded.get(id)?.holders ?? 0;
}

function release(id: string): boolean {
  const entry = loaded.get(id);
  if (!entry) return false;
  entry.holders--;
  if (entry.holders > 0) return false;
  loaded.delete(id);
  return true;
}

async function load(source: ModelSource, o: LoadOptions, onDispose: () => boolean): Promise<LanguageModel> {
  const report = (phase: string, fraction: number | null, text: string): void => o.onProgress?.({ phase, fraction, text });
  const download = (p: ByteProgress): void =>
    report(
      p.fromCache ? 'cache' : 'download',
      p.total ? p.loaded / p.total : null,
      `${p.fromCache ? 'From cache' : 'Downloading'} ${p.file}: ${formatBytes(p.loaded)}${p.total ? ` of ${formatBytes(p.total)}` : ''}`,
    );
  const open = { signal: o.signal, onProgress: download };

  const reader = o.reader ?? HF_READER;
  const config = await reader.readConfig(source, open);
  const tokenizerConfig = await readJson(source, 'tokenizer_config.json', true, open);
  const hasTemplate = typeof tokenizerConfig === 'object' && tokenizerConfig !== null && 'chat_template' in tokenizerConfig;
  const tokenizer = createTokenizer({
    tokenizerJson: await readJson(source, 'tokenizer.json', true, open),
    tokenizerConfig,
    chatTemplateFile: hasTemplate ? null : await readText(source, 'chat_template.jinja', open),
    extraEosTokenIds: config.eosTokenIds,
  });

  const weights = await reader.readWeights(source, config, {
    ...open,
    onTensor: (done, total, name) => report('weights', done / total, `Loading weights: ${name}`),
  });
  let disposed = false;
  return {
    id: source.id,
    label: source.label,
    config,
    weights,
    tokenizer,
    contextLength: config.maxPositionEmbeddings,
    dispose() {
      if (disposed) return;
      if (onDispose()) {
        disposed = true;
        disposeWeights(weights);
      }
    },
  };
}

/** config.json (+ generation_config.json) and safetensors weights: `model.safetensors` or indexed shards. */
export const HF_READER: ModelReader = {
  async readConfig(source, open) {
    const generation = await readJson(source, 'generation_config.json', false, open);
    return parseModelConfig(await readJson(source, 'config.json', true, open), generation);
  },
  async readWeights(source, config, o) {
    const open = { signal: o.signal, onProgress: o.onProgress };
    const shardNames = await weightFiles(source, open);
    const files: SafetensorsFile[] = [];
    for (const name of shardNames) {
      throwIfAborted(o.signal);
      const bytes = await source.open(name, open);
      if (!bytes) {
        throw new AppError(
          'not-found',
          name === 'model.safetensors' && shardNames.length === 1
            ? `${source.label} has no model.safetensors (nor model.safetensors.index.json). Only safetensors checkpoints can be loaded; convert pytorch_model.bin first.`
            : `${source.label} has no ${name}, which model.safetensors.index.json lists. Download the missing shard.`,
        );
      }
      files.push(await SafetensorsFile.open(bytes));
    }
    return loadWeights(config, files, { signal: o.signal, onTensor: o.onTensor });
  },
};

/** `model.safetensors`, or the shards listed by `model.safetensors.index.json`. */
async function weightFiles(source: ModelSource, open: { signal?: AbortSignal }): Promise<string[]> {
  const index = await readJson(source, 'model.safetensors.index.json', false, open);
  if (index === null) {
    return ['model.safetensors'];
  }
  const map = typeof index === 'object' && index !== null ? (index as { weight_map?: unknown }).weight_map : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new AppError('bad-input', `model.safetensors.index.json in ${source.label} has no weight_map. Replace it with the original file.`);
  }
  const names = new Set<string>();
  for (const v of Object.values(map)) {
    if (typeof v !== 'string' || !/^[\w.-]+\.safetensors$/.test(v)) {
      throw new AppError('bad-input', `model.safetensors.index.json in ${source.label} lists ${JSON.stringify(v)}, which is not a safetensors file name.`);
    }
    names.add(v);
  }
  if (names.size === 0) throw new AppError('bad-input', `model.safetensors.index.json in ${source.label} lists no files.`);
  return [...names].sort();
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
