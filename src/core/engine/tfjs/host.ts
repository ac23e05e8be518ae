/**
 * The tfjs engine's host: every method of TfjsApi as a handler over one loaded model, its adapters and at most
 * one training run. workers/tfjs.worker.ts serves these handlers behind the typed protocol; TfjsLocalEngine
 * calls them in-process (Node: CLI, tests, SELF experiments). Environment-specific parts (where the wasm files
 * are, navigator.gpu, the Cache API, Node folders) come in through TfjsHostDeps.
 *
 * Model work (init, load, unload, chat, chatBatch, adapters, mergedModel, train) runs one call at a time, in order of
 * arrival, so that nothing is freed under a running generation; trainControl is answered at once (it pauses
 * or resumes the run in progress). A call cancelled before its turn never starts.
 */
import { AppError, throwIfAborted } from '../../errors.ts';
import type { ModelSource } from '../../io/model-source.ts';
import { withLoraLinears } from '../../lora/linear.ts';
import { disposeLora } from '../../lora/peft-load.ts';
import type { ResponseCache } from '../../io/response-cache.ts';
import { encodeChat, generateBatch, type BatchRow, type GenerateResult } from '../../model/generate.ts';
import { loadMlcModel } from '../../mlc/load.ts';
import { heldOutRows, measureRetention } from '../../mlc/retention.ts';
import { loadedHolders, loadModel, type LanguageModel } from '../../model/load.ts';
import { checkWeightFormat, formatName, loadInFormat, type FormatError } from '../../kernels/load-format.ts';
import { parameterCount } from '../../model/weights.ts';
import { TrainControl } from '../../train/control.ts';
import { parseRow } from '../../train/data-parse.ts';
import type { TrainRow } from '../../train/data-types.ts';
import type { Handlers } from '../protocol-server.ts';
import type { ChatResult } from '../types.ts';
import { AdapterStore, adapterBuffers, adapterFiles, checkAdapterId } from './adapter-store.ts';
import type { BackendInfo, LoadedModelInfo, ModelSourceSpec, TfjsApi, TfjsChatParams, TrainParams } from './api.ts';
import { chooseBackend, type BackendDeps } from './backend-choice.ts';
import { checkMergeDtype, checkMergeFormat, readBaseFiles, runMerge } from './merge-run.ts';
import { baseModelName, openModelSource } from './open-source.ts';
import type { ReadableCacheStorage } from '../webllm/cache-source.ts';
import { runLoraTraining } from './train-run.ts';

export interface TfjsHostDeps extends BackendDeps {
  /** Where downloads are kept (browser: the Cache API); absent = no caching. */
  cache?: () => Promise<ResponseCache | null>;
  /** Opens a `dir` model source (Node only). */
  openDir?: (path: string) => Promise<ModelSource>;
  /** web-llm's cache scopes (`caches` in the worker), for `webllm-cache` sources. */
  webllmCaches?: () => ReadableCacheStorage | undefined;
}

interface Loaded {
  model: LanguageModel;
  info: LoadedModelInfo;
  /** `base_model_name_or_path` for exported adapters. */
  baseModel: string;
  /** Where the model came from: a merged model copies its config and tokenizer files from here. */
  source: ModelSource;
}

/** Rows handed to `train` (TRL objects) → parsed rows; a bad row is named by its position. */
function parseRows(rows: readonly unknown[]): TrainRow[] {
  if (!Array.isArray(rows) || rows.length === 0) throw new AppError('bad-input', 'There are no training rows. Collect some samples first.');
  return rows.map((r, i) => parseRow(r, i + 1));
}

function toChatResult(r: GenerateResult): ChatResult {
  return { text: r.text, finishReason: r.finishReason, usage: r.usage };
}

export function createTfjsHost(deps: TfjsHostDeps): Handlers<TfjsApi> {
  let backend: { want: string; info: BackendInfo } | null = null;
  let loaded: Loaded | null = null;
  let training: TrainControl | null = null;
  const adapters = new AdapterStore();
  let tail: Promise<unknown> = Promise.resolve();

  /** Model work runs one call at a time, in order of arrival. */
  function serial<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const run = tail.then(
      () => (throwIfAborted(signal), task()),
      () => (throwIfAborted(signal), task()),
    );
    tail = run.catch(() => undefined);
    return run;
  }

  function current(): Loaded {
    if (!loaded) throw new AppError('engine', 'No model is loaded in the tfjs engine. Load a model first.');
    return loaded;
  }

  async function init(want: 'auto' | BackendInfo['backend'], threadCap: number | null): Promise<BackendInfo> {
    if (backend && backend.want === want) return backend.info;
    if (loaded) throw new AppError('bad-input', `The model is loaded on ${backend?.info.backend ?? 'another backend'}; unload it before switching the backend to ${want}.`);
    const info = await chooseBackend(want, deps, threadCap);
    backend = { want, info };
    return info;
  }

  function unload(): void {
    adapters.clear();
    loaded?.model.dispose();
    loaded = null;
  }

  function rowOf(p: TfjsChatParams, tokenizer: LanguageModel['tokenizer']): BatchRow {
    if (!Array.isArray(p.messages) || p.messages.length === 0) throw new AppError('bad-input', 'A chat request needs at least one message.');
    return {
      ids: encodeChat(tokenizer, p.messages),
      maxTokens: p.maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      topK: p.topK,
      repetitionPenalty: p.repetitionPenalty,
      seed: p.seed,
      stop: p.stop,
    };
  }

  return {
    init: ({ backend: want, threadCap }, ctx) => serial(ctx.signal, () => init(want, threadCap ?? null)),

    load: ({ modelId, source, weightFormat }, ctx) =>
      serial(ctx.signal, async () => {
        if (typeof modelId !== 'string' || modelId.trim() === '') throw new AppError('bad-input', 'Give the model an id to load it under.');
        const info = backend?.info ?? (await init('auto', null));
        unload();
        const started = performance.now();
        const src = await openModelSource(source as ModelSourceSpec, deps);
        const load = (source as ModelSourceSpec).kind === 'webllm-cache' ? loadMlcModel : loadModel;
        const model = await load(src, { signal: ctx.signal, onProgress: (p) => ctx.progress(p) });
        if (ctx.signal.aborted) {
          model.dispose();
          throwIfAborted(ctx.signal);
        }
        const format = checkWeightFormat(weightFormat);
        let formatError: FormatError | null = null;
        if (format !== 'f32') {
          try {
            if (loadedHolders(src.id) !== 1) throw new AppError('bad-input', `${src.label} is loaded elsewhere in F32; it cannot be turned into ${formatName(format)} here.`);
            ctx.progress({ phase: 'weights', fraction: null, text: format === 'int8' ? 'Quantizing the weights to 8 bits…' : 'Packing the weights for decoding…' });
            formatError = loadInFormat(model, format);
          } catch (e) {
            model.dispose();
            throw e;
          }
        }
        const result: LoadedModelInfo = {
          modelId,
          config: model.config,
          loadMs: performance.now() - started,
          backend: info,
          parameters: parameterCount(model.weights),
          weightFormat: format,
          formatError,
        };
        loaded = { model, info: result, baseModel: baseModelName(source, modelId), source: src };
        return result;
      }),

    unload: (_params, ctx) =>
      serial(ctx.signal, async () => {
        unload();
        return null;
      }),

    chat: (params, ctx) =>
      serial(ctx.signal, async () => {
        const { model } = current();
        const lora = params.adapterId ? adapters.get(params.adapterId) : null;
        const [result] = await withLoraLinears(lora, (linears) =>
          generateBatch(model, [{ ...rowOf(params, model.tokenizer), onToken: (delta) => delta && ctx.token(delta) }], { linears, signal: ctx.signal }),
        );
        return toChatResult(result);
      }),

    chatBatch: ({ requests }, ctx) =>
      serial(ctx.signal, async () => {
        const { model } = current();
        if (!Array.isArray(requests) || requests.length === 0) return [];
        // generateBatch applies one adapter per call: one call per adapter, rows keep their places.
        const groups = new Map<string, number[]>();
        requests.forEach((r, i) => {
          const key = r.adapterId ?? '';
          groups.set(key, [...(groups.get(key) ?? []), i]);
        });
        for (const key of groups.keys()) if (key) adapters.get(key); // unknown adapters fail before any work
        const rows = requests.map((r) => rowOf(r, model.tokenizer));
        const out: ChatResult[] = new Array(requests.length);
        let done = 0;
        for (const [key, indices] of groups) {
          throwIfAborted(ctx.signal);
          const results = await withLoraLinears(key ? adapters.get(key) : null, (linears) =>
            generateBatch(
              model,
              indices.map((i) => rows[i]),
              { linears, signal: ctx.signal, batchSize: indices.length, onRowDone: () => ctx.progress({ done: ++done, total: requests.length }) },
            ),
          );
          results.forEach((r, j) => (out[indices[j]] = toChatResult(r)));
        }
        return out;
      }),

    addAdapter: ({ adapterId, files }, ctx) =>
      serial(ctx.signal, async () => {
        const weights = await adapters.addFromFiles(adapterId, files, current().model.config);
        return { config: weights.config };
      }),

    removeAdapter: ({ adapterId }, ctx) =>
      serial(ctx.signal, async () => {
        adapters.remove(adapterId);
        return null;
      }),

    exportAdapter: ({ adapterId, gguf }, ctx) =>
      serial(ctx.signal, async () => {
        const { model, baseModel } = current();
        const files = await adapterFiles(adapters.get(adapterId), model.config, baseModel, gguf);
        ctx.transfer(adapterBuffers(files));
        return files;
      }),

    mergedModel: ({ adapterId, format, dtype, name }, ctx) =>
      serial(ctx.signal, async () => {
        const { model, source, baseModel } = current();
        const lora = adapters.get(adapterId);
        const checkedFormat = checkMergeFormat(format);
        const checked = checkMergeDtype(dtype, checkedFormat);
        const baseFiles = await readBaseFiles(source, { signal: ctx.signal });
        const run = await runMerge(model, lora, baseFiles, {
          format: checkedFormat,
          dtype: checked,
          name: typeof name === 'string' && name.trim() !== '' ? name.trim() : `${baseModel} merged`,
          baseModel,
          signal: ctx.signal,
          onTensor: (done, total) => ctx.progress({ done, total }),
        });
        const files = Object.fromEntries(run.files);
        ctx.transfer([...new Set(Object.values(files).map((b) => b.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer))]);
        return { files, tensors: run.tensors, mergedModules: run.mergedModules, ...(run.gguf ? { gguf: run.gguf } : {}) };
      }),

    retention: ({ adapterId, merged }, ctx) =>
      serial(ctx.signal, async () => {
        const { model } = current();
        const lora = adapters.get(adapterId);
        const other = await loadMlcModel(await openModelSource(merged, deps), { signal: ctx.signal });
        try {
          return await measureRetention(model, lora, other, heldOutRows(model.config.vocabSize));
        } finally {
          other.dispose();
        }
      }),

    train: (params: TrainParams, ctx) =>
      serial(ctx.signal, async () => {
        checkAdapterId(params.adapterId);
        const method = params.data?.method;
        if (method !== 'sft' && method !== 'dpo') throw new AppError('bad-input', `Unknown training method "${String(method)}"; use sft or dpo.`);
        const { model, baseModel } = current();
        const from = params.fromAdapterId ? adapters.get(params.fromAdapterId) : null;
        const rows = parseRows(params.data.rows);
        const control = new TrainControl();
        training = control;
        try {
          const run = await runLoraTraining({
            model,
            method,
            rows,
            config: params.config,
            from,
            resume: params.resume ? new Map(Object.entries(params.resume)) : null,
            baseModel,
            signal: ctx.signal,
            control,
            onProgress: (m) => ctx.progress(m),
          });
          if (run.status === 'aborted') {
            disposeLora(run.weights);
            throw new AppError('aborted', 'Training was stopped.');
          }
          adapters.put(params.adapterId, run.weights);
          const files = await adapterFiles(run.weights, model.config, baseModel, params.gguf === true);
          ctx.transfer(adapterBuffers(files));
          return {
            adapterId: params.adapterId,
            status: run.status,
            steps: run.steps,
            finalLoss: run.finalLoss,
            examples: run.report.examples,
            truncated: run.report.truncated,
            seconds: run.seconds,
            files,
          };
        } finally {
          if (training === control) training = null;
        }
      }),

    trainControl: async ({ action }) => {
      if (action !== 'pause' && action !== 'resume') throw new AppError('bad-input', `Unknown training action "${String(action)}"; use pause or resume.`);
      if (!training) return { paused: false };
      if (action === 'pause') training.pause();
      else training.resume();
      return { paused: training.paused };
    },
  };
}
