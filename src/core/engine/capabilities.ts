/**
 * Engine capabilities as types. Every ChatEngine declares `capabilities` (types.ts); each true flag promises
 * one sub-interface below, and `hasCapability` narrows to it by reading the flag (never by the engine's class):
 *
 *   adapters   AdapterEngine        holds LoRA adapters (added from PEFT files, exported, merged) and applies
 *                                   the one a request names
 *   trainLora  LoraTrainingEngine   an AdapterEngine that also trains LoRA adapters on its loaded weights
 *   evolve     EvolvableEngine      can be switched to a model whose weights have an adapter merged in (made
 *                                   by training elsewhere on the same weights), so it improves without
 *                                   applying adapters itself
 *
 * Runners name the capability they need in their parameter types (SELF and SRT take an AdapterEngine actor)
 * and call `requireCapability` before any work starts, so an engine that cannot do the job is refused with
 * a message saying what to load, before anything is collected or trained.
 */
import { AppError } from '../errors.ts';
import type { LoraConfig } from '../lora/types.ts';
import { findEntry } from './catalog.ts';
import type { AdapterFiles, LoadedModelInfo, MergedModelFiles, MergedModelParams, TrainParams, TrainProgressMessage, TrainResultInfo } from './tfjs/api.ts';
import type { ChatEngine, EngineCapabilities } from './types.ts';

export type Capability = keyof EngineCapabilities;

/** Capabilities that declare every flag in `K` true. */
export type Declaring<K extends Capability> = EngineCapabilities & { readonly [P in K]: true };

/** Holds LoRA adapters by caller-chosen ids and applies the one a request names (ChatRequest.adapterId). */
export interface AdapterEngine extends ChatEngine {
  readonly capabilities: Declaring<'adapters'>;
  /** The loaded model (its config is what adapters are checked against); null before load(). Every load replaces it. */
  readonly model: LoadedModelInfo | null;
  /** Adds (or replaces) an adapter from its PEFT files; throws adapter-mismatch naming the first bad tensor. */
  addAdapter(adapterId: string, files: AdapterFiles): Promise<LoraConfig>;
  removeAdapter(adapterId: string): Promise<void>;
  /** The adapter's PEFT files, plus adapter.gguf (llama.cpp / Ollama) when `gguf`. */
  exportAdapter(adapterId: string, options?: { gguf?: boolean }): Promise<AdapterFiles>;
  /** The loaded base model with the adapter merged in (W + scaling·B·A), as a full model folder's files (safetensors or GGUF). */
  mergedModel(
    adapterId: string,
    options?: Omit<MergedModelParams, 'adapterId'> & { signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void },
  ): Promise<MergedModelFiles>;
}

/** An AdapterEngine that also trains LoRA adapters (SFT, DPO) on the weights it has loaded. */
export interface LoraTrainingEngine extends AdapterEngine {
  readonly capabilities: Declaring<'adapters' | 'trainLora'>;
  /** Trains a new adapter; aborting the signal stops the run between steps (AppError 'aborted'). */
  train(params: TrainParams, options?: { signal?: AbortSignal; onProgress?: (m: TrainProgressMessage) => void }): Promise<TrainResultInfo>;
  /** Pauses the running training before its next step; resolves with whether a run is now paused. */
  pauseTraining(): Promise<boolean>;
  resumeTraining(): Promise<boolean>;
}

/**
 * Can be switched to an evolved model: one whose weights have an adapter merged in, registered where this
 * engine loads models from, then loaded with `load(id)` like any model. It need not apply adapters itself.
 */
export interface EvolvableEngine extends ChatEngine {
  readonly capabilities: Declaring<'evolve'>;
  /** Where a model's files are kept (`model`, absolute) and the compiled library it runs on (`modelLib`). */
  recordUrls(modelId: string): Promise<{ model: string; modelLib: string }>;
}

/**
 * A trainer whose adapters reach generation by evolving (evolving-actor.ts): it declares all three
 * capabilities, and tells which model generated with a given adapter and how much of the adapter it kept.
 */
export interface EvolvingTrainingEngine extends LoraTrainingEngine {
  readonly capabilities: Declaring<'adapters' | 'trainLora' | 'evolve'>;
  /** The model that generates for `adapterId` (null = the starting model), merging it first when needed. */
  modelFor(adapterId: string | null, signal?: AbortSignal): Promise<EvolvedUse>;
}

/** Which model ran for an adapter, and what survived of the adapter in it (null for the starting model). */
export interface EvolvedUse {
  modelId: string;
  adapterId: string | null;
  report: { exact: boolean; weightKept: number; logitsKept: number | null } | null;
}

/** Whether the engine trains adapters on tfjs and runs them by switching to evolved models. */
export function isEvolvingTrainer(engine: ChatEngine | null | undefined): engine is EvolvingTrainingEngine {
  return hasCapability(engine, 'trainLora') && hasCapability(engine, 'evolve');
}

/** The interface each capability promises. */
export interface CapabilityEngines {
  adapters: AdapterEngine;
  trainLora: LoraTrainingEngine;
  evolve: EvolvableEngine;
}

/** Engines with no capability besides chat (an endpoint, web-llm today). */
export const CHAT_ONLY: EngineCapabilities = { adapters: false, trainLora: false, evolve: false };

/** Whether the engine declares `capability` (and so implements its interface). */
export function hasCapability<K extends Capability>(engine: ChatEngine | null | undefined, capability: K): engine is CapabilityEngines[K] {
  return engine?.capabilities[capability] === true;
}

/** Why `engine` cannot do `what`, and what to load instead. */
export function missingCapabilityMessage(engine: ChatEngine | null | undefined, capability: Capability, what: string): string {
  if (capability === 'evolve') {
    return `${what} needs an actor that can be switched to a model with an adapter merged into its weights, and ${engine ? `the ${engine.kind} engine` : 'no engine'} cannot be. Load such an actor (Engines, in the engine setup).`;
  }
  const entry = engine?.kind === 'webllm' && engine.modelId ? findEntry(engine.modelId) : undefined;
  const same =
    entry?.kind === 'webllm'
      ? ` For ${entry.label}, load the tfjs engine with its Hugging Face repo ${entry.hfRepo} (Model source: Hugging Face repo).`
      : '';
  return `${what} needs the tfjs engine with a model loaded as the actor (Engines, in the engine setup). Adapters are trained and applied by tfjs only.${same}`;
}

/** The engine, narrowed to `capability`'s interface, with a model loaded; otherwise AppError('bad-input') saying what to load. */
export function requireCapability<K extends Capability>(engine: ChatEngine | null | undefined, capability: K, what: string): CapabilityEngines[K] {
  if (!hasCapability(engine, capability) || engine.modelId === null) throw new AppError('bad-input', missingCapabilityMessage(engine, capability, what));
  return engine;
}
