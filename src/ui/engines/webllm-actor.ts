/**
 * The actor SELF and SRT runs train: the loaded engine when it trains LoRA itself (tfjs), or — for a
 * web-llm actor — an EvolvingActor (src/core/engine/evolving-actor.ts): generation on the page's web-llm
 * engine, training in a tfjs worker on the same MLC files read from web-llm's cache, each new adapter merged
 * by the evolve worker into an evolved model that web-llm then switches to. One actor per web-llm engine is
 * kept, so a second run (while web-llm still runs one of its evolved models) evolves the same base again.
 * Refused before any work: an engine that can do neither, a model whose files are not in the cache.
 */
import { EvolvingActor } from '../../core/engine/evolving-actor.ts';
import { hasCapability, requireCapability, type EvolvableEngine, type LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import { webllmEntries } from '../../core/engine/catalog.ts';
import { TfjsWorkerEngine } from '../../core/engine/tfjs/worker-engine.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import { requireCached } from '../../core/engine/webllm/evolve.ts';
import { findEvolvedForAdapter, findEvolvedModel, updateEvolvedReport, type EvolvedBase, type WritableCacheStorage } from '../../core/engine/webllm/evolved.ts';
import { AppError } from '../../core/errors.ts';
import { mergeNote, webllmEntryFor } from '../adapters/evolve-webllm.ts';
import { evolvedModels } from './evolved-models.svelte.ts';

const actors = new WeakMap<ChatEngine, EvolvingActor>();

function browserCaches(): WritableCacheStorage {
  const c = (globalThis as { caches?: CacheStorage }).caches;
  if (!c) throw new AppError('unsupported', 'This browser offers no Cache API here (a private window or an insecure page), so web-llm models cannot be read for training.');
  return c;
}

/** The catalog build under a web-llm id (itself, or the base an evolved model was made from) and where its files are. */
async function startOf(engine: EvolvableEngine, caches: WritableCacheStorage, id: string): Promise<{ base: EvolvedBase; model: string }> {
  const evolved = await findEvolvedModel(caches, id);
  if (evolved) return { base: evolved.base, model: evolved.model };
  const variant = webllmEntries().flatMap((e) => e.variants).find((v) => v.webllmId === id);
  if (!variant) throw new AppError('bad-input', `${id} is not a web-llm catalog build, so its MLC files cannot be trained on.`);
  const urls = await engine.recordUrls(id);
  return { base: { webllmId: id, quantization: variant.quantization, modelLib: urls.modelLib }, model: urls.model };
}

/** What evolving this model means for a person: exact (q0) or requantized (q4), and the q0 build to use for an exact merge. */
export function evolvingNote(actor: LoraTrainingEngine): string | null {
  const entry = actor.kind === 'webllm' && actor.modelId ? webllmEntryFor(actor.modelId) : null;
  return entry && actor.modelId ? `Each round's adapter is merged into ${actor.modelId} and web-llm switches to the result. ${mergeNote(entry, actor.modelId)}` : null;
}

/** The actor `what` (SELF, SRT) trains: see the file's comment. Throws before any work when it cannot be had. */
export async function trainingActor(engine: ChatEngine | null, what: string): Promise<LoraTrainingEngine> {
  if (!hasCapability(engine, 'evolve') || hasCapability(engine, 'trainLora') || engine.modelId === null) return requireCapability(engine, 'trainLora', what);
  const kept = actors.get(engine);
  if (kept && kept.runningModelId === engine.modelId && kept.model) return kept;
  const caches = browserCaches();
  const id = engine.modelId;
  const { base, model } = await startOf(engine, caches, id);
  await requireCached(caches, model, id);
  const trainer = new TfjsWorkerEngine({ source: { kind: 'webllm-cache', model } });
  try {
    await trainer.load(id);
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  const actor = new EvolvingActor({
    generator: engine,
    trainer,
    startModelId: id,
    base,
    startModel: model,
    origin: location.origin,
    evolve: (p, o) => evolvedModels().create(p, o.onProgress ?? (() => {}), o.signal),
    find: (adapterId) => findEvolvedForAdapter(caches, adapterId, base.webllmId),
    saveReport: async (webllmId, report) => {
      await updateEvolvedReport(caches, webllmId, report);
      await evolvedModels().refresh();
    },
  });
  kept?.unload().catch(() => undefined);
  actors.set(engine, actor);
  return actor;
}
