/**
 * Starting anything that needs a model loads the experiment's own model by itself: the engine choice stored in
 * the experiment's settings, loaded into the page's slot (its progress shows in the slot and next to the Run
 * button) unless it is loaded already. Where it cannot be loaded without the person (a folder picked from
 * disk, an endpoint not set up in this browser), the error says what to choose.
 */
import { AppError } from '../../core/errors.ts';
import type { ChatEngine } from '../../core/engine/types.ts';
import type { StudioDb } from '../../db/db.ts';
import type { JsonObject } from '../../db/types.ts';
import { StateError } from '../state/state-error.ts';
import { loadEndpoint } from './endpoint-store.ts';
import type { EngineManager, EngineRole } from './engine-manager.svelte.ts';
import { readEngineSetup, sameChoice, type EngineChoice } from './engine-setup.ts';
import type { SlotView } from './engine-slot.ts';

/** Why a choice cannot load by itself in this page, or null when it can. */
export function needsPerson(role: EngineRole, choice: EngineChoice, held: EngineChoice | null, hasEndpoint: boolean): string | null {
  if (sameChoice(held, choice)) return null;
  if (choice.kind === 'tfjs' && choice.model.from === 'folder') {
    return `The ${role} model is a folder on your disk ("${choice.model.name}"): choose it again under Engines and press Load, then start again.`;
  }
  if (choice.kind === 'openai' && !hasEndpoint) {
    return `The ${role} is an OpenAI-compatible endpoint that this browser has not been given: enter its address under Engines, then start again.`;
  }
  return null;
}

/** The choice the role's slot holds loaded, or null. */
function loadedChoice(engines: EngineManager, role: EngineRole): EngineChoice | null {
  const view = engines.view(role);
  return view.status === 'ready' ? view.choice : null;
}

/**
 * The experiment's engine for `role` (its stored choice), loading it when needed. When the person must load it
 * (needsPerson), the error clears by itself once the slot holds that choice (loaded from the Engines panel).
 */
export async function experimentEngine(db: StudioDb, engines: EngineManager, settings: JsonObject, role: EngineRole): Promise<ChatEngine> {
  const setup = readEngineSetup(settings).setup;
  const choice = role === 'actor' ? setup.actor : setup.critic;
  if (!choice) throw new AppError('bad-input', 'This experiment has no separate critic: tick "Use a separate critic" under Engines and choose one.');
  const endpoint = choice.kind === 'openai' ? await loadEndpoint(db) : null;
  const why = needsPerson(role, choice, loadedChoice(engines, role), endpoint !== null);
  if (why) throw new StateError('bad-input', why, () => !sameChoice(loadedChoice(engines, role), choice));
  return engines.ensure(role, choice, { endpoint, folderFiles: null });
}

/** The actor, and the critic when the experiment has one: what a Playground run or a SELF run uses. */
export async function experimentEngines(db: StudioDb, engines: EngineManager, settings: JsonObject): Promise<{ actor: ChatEngine; critic: ChatEngine | null }> {
  const actor = await experimentEngine(db, engines, settings, 'actor');
  const critic = readEngineSetup(settings).setup.critic ? await experimentEngine(db, engines, settings, 'critic') : null;
  return { actor, critic };
}

/** "Loading the actor model (…) — 40 %" while a slot loads, for the note next to a Run button; else null. */
export function loadingText(role: EngineRole, view: SlotView): string | null {
  if (view.status !== 'loading') return null;
  const pct = view.progress?.fraction != null ? ` — ${Math.round(view.progress.fraction * 100)} %` : '';
  return `Loading the ${role} model (${view.label})${pct}…`;
}
