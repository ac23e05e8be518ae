/**
 * The page's engines: one actor and an optional critic, each an EngineSlot shown as reactive state. One
 * manager per page (pageEngines), so a loaded model survives switching tabs and experiments; a slot loads a
 * new choice only when the choice changes, and unloads the old one first.
 */
import type { ChatEngine } from '../../core/engine/types.ts';
import type { RunEngines } from '../runs/loop-runner.ts';
import { tfjsBuilder } from './tfjs-builder.ts';
import { browserEngineBuilder } from './engine-builders.ts';
import type { EngineChoice } from './engine-setup.ts';
import { EMPTY_SLOT, EngineSlot, type EngineBuilder, type LoadExtras, type SlotView } from './engine-slot.ts';

export type EngineRole = 'actor' | 'critic';

export class EngineManager {
  actor = $state.raw<SlotView>(EMPTY_SLOT);
  critic = $state.raw<SlotView>(EMPTY_SLOT);
  readonly #slots: Record<EngineRole, EngineSlot>;

  constructor(build: EngineBuilder) {
    this.#slots = {
      actor: new EngineSlot('actor', build, (v) => (this.actor = v)),
      critic: new EngineSlot('critic', build, (v) => (this.critic = v)),
    };
  }

  view(role: EngineRole): SlotView {
    return role === 'actor' ? this.actor : this.critic;
  }

  load(role: EngineRole, choice: EngineChoice, extras: LoadExtras): Promise<void> {
    return this.#slots[role].load(choice, extras);
  }

  /** The role's engine for `choice`, loaded first unless it is loaded or loading already (EngineSlot.ensure). */
  ensure(role: EngineRole, choice: EngineChoice, extras: LoadExtras): Promise<ChatEngine> {
    return this.#slots[role].ensure(choice, extras);
  }

  cancel(role: EngineRole): void {
    this.#slots[role].cancel();
  }

  unload(role: EngineRole): Promise<void> {
    return this.#slots[role].unload();
  }

  /** The loaded engine of a role (e.g. the tfjs engine, for training on the same worker), or null. */
  engineOf(role: EngineRole): ChatEngine | null {
    return this.#slots[role].engine;
  }

  /** The loaded engines for a run: the actor must be ready; the critic when `withCritic`. Null otherwise. */
  engines(withCritic: boolean): RunEngines | null {
    const actor = this.#slots.actor.engine;
    const critic = this.#slots.critic.engine;
    if (!actor || (withCritic && !critic)) return null;
    return { actor, critic: withCritic ? critic : null };
  }
}

let shared: EngineManager | null = null;

/** The page's one engine manager. */
export function pageEngines(): EngineManager {
  shared ??= new EngineManager(browserEngineBuilder(tfjsBuilder));
  return shared;
}
