/**
 * SELF and SRT on an actor that cannot apply adapters but can be evolved (web-llm). One engine made of two:
 *
 *   generation   `generator` (web-llm) runs the starting model for the base (adapterId null) and, for an
 *                adapter, the evolved model that has that adapter merged in, switching (engine.load) when a
 *                request names another adapter than the one it runs;
 *   training     `trainer` (tfjs) holds and trains the adapters on the same MLC weights, read from web-llm's
 *                cache under the same model id (so stored adapters name the web-llm build as their base);
 *   evolving     after each training, the new adapter is merged into the starting model's MLC files and
 *                registered as an evolved model (`evolve`: the evolve worker in the page, evolveIntoCache in
 *                Node), and for a 4-bit base the trainer measures how much of it the merge kept (logits).
 *
 * Every adapter is trained from the starting model's weights (SELF continues the previous round's adapter),
 * and every evolved model is the starting model + that adapter, so a q4 requantization never compounds over
 * rounds. An adapter whose evolved model is missing (made before a reload, deleted) is found by its id in
 * the registry or merged again from the trainer's copy.
 */
import { AppError, throwIfAborted } from '../errors.ts';
import type { LoraConfig } from '../lora/types.ts';
import type { RetentionReport } from '../mlc/retention.ts';
import type { Declaring, EvolvableEngine, EvolvedUse, EvolvingTrainingEngine, LoraTrainingEngine } from './capabilities.ts';
import type { AdapterFiles, LoadedModelInfo, MergedModelFiles, MergedModelParams, ModelSourceSpec, TrainAfterProgress, TrainParams, TrainProgressMessage, TrainResultInfo } from './tfjs/api.ts';
import type { ChatRequest, ChatResult, LoadProgress } from './types.ts';
import type { EvolveParams, EvolveProgress } from './webllm/evolve-api.ts';
import { evolvedModelId, type EvolvedBase, type EvolvedModel, type EvolvedReport } from './webllm/evolved.ts';

/** The tfjs side: trains and holds adapters, and measures a merged model's retention. */
export interface RetentionTrainer extends LoraTrainingEngine {
  measureRetention(adapterId: string, merged: ModelSourceSpec, signal?: AbortSignal): Promise<RetentionReport>;
}

export type EvolveEvent = EvolveProgress | { phase: 'retention' | 'switch'; modelId: string };

/** The share of a train call's progress that its steps fill; the merge (and retention) after them fill the rest. */
export const STEPS_SHARE = 0.8;

/** Progress of a train call while the evolving actor works after the steps (stage `done` of `total`). */
export function afterProgress(stage: TrainAfterProgress['stage'], done: number, total: number, retention: boolean, modelId?: string): TrainAfterProgress {
  const stages: TrainAfterProgress['stage'][] = retention ? ['merge', 'write', 'retention'] : ['merge', 'write'];
  const i = Math.max(0, stages.indexOf(stage));
  const inside = total > 0 ? Math.min(1, done / total) : 0;
  return { kind: 'after', stage, done, total, fraction: STEPS_SHARE + ((1 - STEPS_SHARE) * (i + inside)) / stages.length, ...(modelId ? { modelId } : {}) };
}

export interface EvolvingActorParts {
  generator: EvolvableEngine;
  /** Loaded (under `startModelId`) from the starting model's MLC files in web-llm's cache. */
  trainer: RetentionTrainer;
  /** The web-llm id the generator runs for the base model (a catalog build, or an evolved model). */
  startModelId: string;
  /** The catalog build under it (its library and quantization), and where the starting model's files are cached. */
  base: EvolvedBase;
  startModel: string;
  /** The page's origin: evolved models are keyed under it. */
  origin: string;
  /** Merges and registers (evolve worker, or evolveIntoCache). */
  evolve(params: EvolveParams, o: { signal?: AbortSignal; onProgress?: (p: EvolveProgress) => void }): Promise<EvolvedModel>;
  /** An evolved model made earlier from this adapter on this base, if any. */
  find(adapterId: string): Promise<EvolvedModel | null>;
  /** Keeps a measured report with the evolved model's record. */
  saveReport?(webllmId: string, report: EvolvedReport): Promise<void>;
  /** Measure logit retention after each merge (default: only for q4 bases, whose merge loses part of it). */
  measureRetention?: boolean;
  /** The id of a new evolved model (default evolvedModelId). */
  newId?(baseId: string): string;
  /** A name for people, per adapter. */
  name?(adapterId: string): string;
  onEvent?(e: EvolveEvent): void;
}

export class EvolvingActor implements EvolvingTrainingEngine {
  readonly kind;
  readonly capabilities: Declaring<'adapters' | 'trainLora' | 'evolve'> = { adapters: true, trainLora: true, evolve: true };
  readonly chatBatch?: (requests: ChatRequest[]) => Promise<ChatResult[]>;
  readonly #p: EvolvingActorParts;
  readonly #uses = new Map<string, Promise<EvolvedUse>>();
  /** Generation runs one request (or batch) at a time, so a model switch never cuts another request short. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(parts: EvolvingActorParts) {
    if (parts.generator.modelId !== parts.startModelId) {
      throw new AppError('bad-input', `The web-llm engine runs ${parts.generator.modelId ?? 'no model'}, not ${parts.startModelId}. Load ${parts.startModelId} first.`);
    }
    if (parts.trainer.modelId !== parts.startModelId) {
      throw new AppError('bad-input', `The trainer holds ${parts.trainer.modelId ?? 'no model'}; it must hold ${parts.startModelId}, read from the same MLC files.`);
    }
    this.#p = parts;
    this.kind = parts.generator.kind;
    const batch = parts.generator.chatBatch?.bind(parts.generator);
    if (batch) this.chatBatch = (requests) => this.#serial(() => this.#chatBatch(requests, batch));
  }

  get modelId(): string {
    return this.#p.startModelId;
  }

  get model(): LoadedModelInfo | null {
    return this.#p.trainer.model;
  }

  /** The model the generator runs now. */
  get runningModelId(): string | null {
    return this.#p.generator.modelId;
  }

  async load(modelId: string): Promise<void> {
    if (modelId !== this.#p.startModelId) throw new AppError('bad-input', `This actor evolves ${this.#p.startModelId}; load ${modelId} with the web-llm engine instead.`);
    await this.#switchTo(modelId);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #switchTo(modelId: string, signal?: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<void> {
    if (this.#p.generator.modelId === modelId) return;
    this.#p.onEvent?.({ phase: 'switch', modelId });
    await this.#p.generator.load(modelId, { signal, onProgress });
  }

  async #modelOf(adapterId: string | null | undefined, signal?: AbortSignal): Promise<string> {
    return (await this.modelFor(adapterId ?? null, signal)).modelId;
  }

  chat(request: ChatRequest): Promise<ChatResult> {
    return this.#serial(async () => {
      throwIfAborted(request.signal);
      await this.#switchTo(await this.#modelOf(request.adapterId, request.signal), request.signal);
      return this.#p.generator.chat({ ...request, adapterId: null });
    });
  }

  async #chatBatch(requests: ChatRequest[], batch: (r: ChatRequest[]) => Promise<ChatResult[]>): Promise<ChatResult[]> {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < requests.length; i++) {
      const model = await this.#modelOf(requests[i].adapterId, requests[i].signal);
      groups.set(model, [...(groups.get(model) ?? []), i]);
    }
    const out: ChatResult[] = new Array(requests.length);
    for (const [model, indices] of groups) {
      await this.#switchTo(model, requests[indices[0]].signal);
      const results = await batch(indices.map((i) => ({ ...requests[i], adapterId: null })));
      results.forEach((r, j) => (out[indices[j]] = r));
    }
    return out;
  }

  /** Which model generates for `adapterId`; the first call for an adapter merges it (or finds its evolved model). */
  modelFor(adapterId: string | null, signal?: AbortSignal, onProgress?: (m: TrainAfterProgress) => void): Promise<EvolvedUse> {
    if (adapterId === null) return Promise.resolve({ modelId: this.#p.startModelId, adapterId: null, report: null });
    let use = this.#uses.get(adapterId);
    if (!use) {
      use = this.#evolve(adapterId, signal, onProgress);
      this.#uses.set(adapterId, use);
      use.catch(() => this.#uses.delete(adapterId)); // a failed merge is tried again next time
    }
    return use;
  }

  /** Whether a merge is followed by a retention measure: asked for, or by default for a 4-bit base. */
  get #measures(): boolean {
    return this.#p.measureRetention ?? !this.#p.base.quantization.startsWith('q0');
  }

  async #evolve(adapterId: string, signal?: AbortSignal, onProgress?: (m: TrainAfterProgress) => void): Promise<EvolvedUse> {
    const p = this.#p;
    const found = await p.find(adapterId);
    if (found) return { modelId: found.webllmId, adapterId, report: found.report };
    const webllmId = (p.newId ?? evolvedModelId)(p.base.webllmId);
    const measures = this.#measures;
    const progress = (x: EvolveProgress) => {
      p.onEvent?.(x);
      onProgress?.(afterProgress(x.phase, x.done, x.total, measures, x.phase === 'write' ? webllmId : undefined));
    };
    onProgress?.(afterProgress('merge', 0, 1, measures));
    const files = await p.trainer.exportAdapter(adapterId);
    const made = await p.evolve(
      {
        adapter: { adapterConfig: files.adapterConfig, safetensors: files.safetensors },
        base: p.base,
        baseModel: p.startModel,
        webllmId,
        name: p.name?.(adapterId) ?? `${p.startModelId} + adapter ${adapterId}`,
        origin: p.origin,
        adapterId,
      },
      { signal, onProgress: progress },
    );
    let report = made.report;
    if (report && measures) {
      p.onEvent?.({ phase: 'retention', modelId: made.webllmId });
      onProgress?.(afterProgress('retention', 0, 1, measures, made.webllmId));
      const r = await p.trainer.measureRetention(adapterId, { kind: 'webllm-cache', model: made.model }, signal);
      report = { ...report, logitsKept: r.kept };
      await p.saveReport?.(made.webllmId, report);
      onProgress?.(afterProgress('retention', 1, 1, measures, made.webllmId));
    }
    return { modelId: made.webllmId, adapterId, report };
  }

  /**
   * Trains on tfjs, then evolves the new adapter (so the next collection runs on its evolved model). A merge
   * that fails (a full quota, say) does not fail the training: the adapter is returned and stored, and the
   * first request that needs its evolved model merges again and reports the error there.
   */
  async train(params: TrainParams, options: { signal?: AbortSignal; onProgress?: (m: TrainProgressMessage) => void } = {}): Promise<TrainResultInfo> {
    const report = options.onProgress;
    const out = await this.#p.trainer.train(params, {
      signal: options.signal,
      // The steps fill STEPS_SHARE of the bar; the merge (and retention) after them the rest.
      onProgress: report && ((m) => report(m.kind === 'step' ? { ...m, fraction: (STEPS_SHARE * m.step) / Math.max(1, m.totalSteps) } : m)),
    });
    if (out.status === 'completed') await this.modelFor(out.adapterId, options.signal, report).catch(() => undefined);
    return out;
  }

  pauseTraining(): Promise<boolean> {
    return this.#p.trainer.pauseTraining();
  }

  resumeTraining(): Promise<boolean> {
    return this.#p.trainer.resumeTraining();
  }

  addAdapter(adapterId: string, files: AdapterFiles): Promise<LoraConfig> {
    this.#uses.delete(adapterId);
    return this.#p.trainer.addAdapter(adapterId, files);
  }

  removeAdapter(adapterId: string): Promise<void> {
    this.#uses.delete(adapterId);
    return this.#p.trainer.removeAdapter(adapterId);
  }

  exportAdapter(adapterId: string, options?: { gguf?: boolean }): Promise<AdapterFiles> {
    return this.#p.trainer.exportAdapter(adapterId, options);
  }

  mergedModel(adapterId: string, options?: Omit<MergedModelParams, 'adapterId'> & { signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void }): Promise<MergedModelFiles> {
    return this.#p.trainer.mergedModel(adapterId, options);
  }

  /** Frees the trainer's copy of the weights; the generator (the page's web-llm engine) stays as it is. */
  async unload(): Promise<void> {
    this.#uses.clear();
    await this.#p.trainer.unload();
  }
}
