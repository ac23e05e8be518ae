/**
 * The model a resumed training run needs, loaded by itself: when the actor slot does not hold the run's base
 * model, the experiment's stored actor choice is loaded (its progress shows in the engine panel) if it is
 * that model. A model picked from a folder cannot be reloaded without the person (its files are not kept
 * across page loads), and another model is never guessed: those cases say what to load.
 */
import { requireCapability, type LoraTrainingEngine } from '../../core/engine/capabilities.ts';
import { AppError } from '../../core/errors.ts';
import type { Experiment } from '../../db/types.ts';
import { tfjsModelId } from '../engines/engine-builders.ts';
import type { EngineManager } from '../engines/engine-manager.svelte.ts';
import { readEngineSetup } from '../engines/engine-setup.ts';

export async function engineForResume(engines: EngineManager, experiment: Experiment, baseModelId: string): Promise<LoraTrainingEngine> {
  const loaded = engines.engineOf('actor');
  if (loaded && loaded.modelId === baseModelId) return requireCapability(loaded, 'trainLora', 'Training');
  const choice = readEngineSetup(experiment.settings).setup.actor;
  if (choice.kind !== 'tfjs' || tfjsModelId(choice.model) !== baseModelId) {
    throw new AppError('bad-input', `This training run trains ${baseModelId}, which is not this experiment's actor model now. Load ${baseModelId} as the actor (tfjs, Engines above), then resume.`);
  }
  if (choice.model.from === 'folder') {
    throw new AppError('bad-input', `This training run trains the model from the folder "${choice.model.name}". Pick that folder again in Engines above (picked files are not kept across page loads), then resume.`);
  }
  await engines.load('actor', choice, { endpoint: null, folderFiles: null });
  const engine = engines.engineOf('actor');
  if (!engine || engine.modelId !== baseModelId) throw new AppError('engine', `${baseModelId} did not load; see the engine panel above, then resume.`);
  return requireCapability(engine, 'trainLora', 'Training');
}
