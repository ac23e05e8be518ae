/**
 * Keeping a role's engine choice in the experiment's settings (and the actor's model id on the experiment,
 * which its header shows): what loading an engine from the Engines panel does, and what switching a 4-bit
 * web-llm actor to the catalog's unquantized build of the same model does.
 */
import type { StudioDb } from '../../db/db.ts';
import { patchSettings } from '../playground/experiment-settings.ts';
import { tfjsModelId } from './engine-builders.ts';
import type { EngineRole } from './engine-manager.svelte.ts';
import { DEFAULT_ACTOR, readEngineSetup, writeEngineSetup, type EngineChoice } from './engine-setup.ts';

/** The actor's model id as the experiment's header shows it (never a key or an endpoint URL). */
export function modelIdOf(choice: EngineChoice, endpointModel: string): string {
  if (choice.kind === 'tfjs') return tfjsModelId(choice.model);
  if (choice.kind === 'webllm') return choice.modelId;
  return endpointModel;
}

/** Stores `choice` for `role` (null: the actor's default, or no critic); other settings are kept. */
export async function rememberChoice(db: StudioDb, experimentId: string, role: EngineRole, choice: EngineChoice | null, endpointModel = ''): Promise<void> {
  const actor = role === 'actor' && choice ? { engine: choice.kind, modelId: modelIdOf(choice, endpointModel) } : {};
  await patchSettings(
    db,
    experimentId,
    (settings) => {
      const current = readEngineSetup(settings).setup;
      return writeEngineSetup(settings, { ...current, [role]: choice ?? (role === 'actor' ? DEFAULT_ACTOR : null) });
    },
    actor,
  );
}
