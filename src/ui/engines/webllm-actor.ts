/**
 * The actor SELF and SRT runs train: the loaded engine when it trains LoRA itself (tfjs), or — for a
 * web-llm actor — an EvolvingActor (src/core/engine/evolving-actor.ts): generation on the page's web-llm
 * engine, training in a tfjs worker on the same MLC files read from web-llm's cache, each new adapter merged
 * by the evolve worker into an evolved model that web-llm then switches to. One actor per web-llm engine is
 * kept, so a second run (while web-llm still runs one of its evolved models) evolves the same base again.
 * Refused before any work: an engine that can do neither, a model whose files are not in the cache.
 */
import { EvolvingActor, type EvolvingActorParts, type RetentionTrainer } from '../../core/engine/evolving-actor.ts';
import { hasCapability, requireCapability, type EvolvableEngine, type LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import { webllmEntries } from '../../core/engine/catalog.ts';
import { TfjsWorkerEngine } from '../../core/engine/tfjs/worker-engine.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { requireCached } from '../../core/engine/webllm/evolve.ts';
import { evolvedBaseOf, findEvolvedForAdapter, findEvolvedModel, updateEvolvedReport, type EvolvedBase, type WritableCacheStorage } from '../../core/engine/webllm/evolved.ts';
import { AppError } from '../../core/errors.ts';
import { mergeNote, webllmEntryFor } from '../adapters/evolve-webllm.ts';
import { evolvedModels } from './evolved-models.svelte.ts';

const actors = new WeakMap<ChatEngine, EvolvingActor>();

function browserCaches(): WritableCacheStorage {
  const c = (globalThis as { caches?: CacheStorage }).caches;
  if (!c) throw new AppError('unsupported', 'This browser offers no Cache API here (a private window or an insecure page), so web-llm models cannot be read for training.');
  return c;
}

/** What an evolving actor is made of besides the web-llm engine; the page's by default, Node's in tests. */
export interface ActorParts {
  caches(): WritableCacheStorage;
  /** A trainer (not loaded yet) that reads the model at `model` from web-llm's cache. */
  trainer(model: string): RetentionTrainer & { dispose?(): void };
  origin: string;
  evolve: EvolvingActorParts['evolve'];
  /** After an evolved model's record changed (its report). */
  changed?(): Promise<void>;
}

/** The page's parts: the tfjs worker, the evolve worker, this origin, the evolved-model list on screen. */
export function pageActorParts(): ActorParts {
  return {
    caches: browserCaches,
    trainer: (model) => new TfjsWorkerEngine({ source: { kind: 'webllm-cache', model } }),
    get origin() {
      return location.origin;
    },
    evolve: (p, o) => evolvedModels().create(p, o.onProgress ?? (() => {}), o.signal),
    changed: () => evolvedModels().refresh(),
  };
}

/**
 * The catalog build under a web-llm id (itself, or the base an evolved model was made from), where the
 * starting model's files are, and its name for people. An evolved model picked as the actor is the starting
 * model itself: each round trains on its weights and merges into its files (on the base's record and library).
 */
async function startOf(engine: EvolvableEngine, caches: WritableCacheStorage, id: string): Promise<{ base: EvolvedBase; model: string; name: string }> {
  const evolved = await findEvolvedModel(caches, id);
  if (evolved) return { base: evolved.base, model: evolved.model, name: evolved.name };
  const variant = webllmEntries().flatMap((e) => e.variants).find((v) => v.webllmId === id);
  if (!variant) throw new AppError('bad-input', `${id} is not a web-llm catalog build, so its MLC files cannot be trained on.`);
  const urls = await engine.recordUrls(id);
  return { base: { webllmId: id, quantization: variant.quantization, modelLib: urls.modelLib }, model: urls.model, name: id };
}

/** What evolving this model means for a person: exact (q0) or requantized (q4), and the q0 build to use for an exact merge. */
export function evolvingNote(actor: Pick<LoraTrainingEngine, 'kind' | 'modelId'>): string | null {
  const id = actor.kind === 'webllm' ? actor.modelId : null;
  const base = id ? (evolvedBaseOf(id) ?? id) : null;
  const entry = base ? webllmEntryFor(base) : null;
  if (!id || !base || !entry) return null;
  const from = base === id ? '' : ` (evolved from ${base})`;
  return `Each round's adapter is merged into ${id}${from} and web-llm switches to the result. ${mergeNote(entry, base)}`;
}

/** trainingActor, and for a web-llm actor a word to the person (`say`) on what each round does with it. */
export async function announcedTrainingActor(engine: ChatEngine | null, what: string, say: (text: string) => void): Promise<LoraTrainingEngine> {
  const actor = await trainingActor(engine, what);
  const note = evolvingNote(actor);
  if (note) say(note);
  return actor;
}

/** The actor `what` (SELF, SRT) trains: see the file's comment. Throws before any work when it cannot be had. */
export async function trainingActor(engine: ChatEngine | null, what: string, parts: ActorParts = pageActorParts()): Promise<LoraTrainingEngine> {
  if (!hasCapability(engine, 'evolve') || hasCapability(engine, 'trainLora') || engine.modelId === null) return requireCapability(engine, 'trainLora', what);
  const kept = actors.get(engine);
  if (kept && kept.runningModelId === engine.modelId && kept.model) return kept;
  const caches = parts.caches();
  const id = engine.modelId;
  const start = await startOf(engine, caches, id);
  const { base, model } = start;
  await requireCached(caches, model, id);
  const trainer = parts.trainer(model);
  try {
    await trainer.load(id);
  } catch (e) {
    trainer.dispose?.();
    throw e;
  }
  const actor = new EvolvingActor({
    generator: engine,
    trainer,
    startModelId: id,
    base,
    startModel: model,
    origin: parts.origin,
    evolve: parts.evolve,
    find: (adapterId) => findEvolvedForAdapter(caches, adapterId, base.webllmId),
    saveReport: async (webllmId, report) => {
      await updateEvolvedReport(caches, webllmId, report);
      await parts.changed?.();
    },
    name: (adapterId) => `${start.name} + adapter ${adapterId}`,
  });
  kept?.unload().catch(() => undefined);
  actors.set(engine, actor);
  return actor;
}
