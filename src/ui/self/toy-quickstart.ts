/**
 * The out-of-the-box experiment: "Toy arithmetic (offline)" on the embedded toy model (tfjs, from this site, no
 * download), with the toy task set (fresh unlabeled questions for two SELF rounds of 200, and 200 held-out
 * questions), Self-Refine settings that fit the model's 384-token context, and the SELF settings of the toy
 * experiment. Creating it writes the experiment and its tasks; nothing else.
 */
import type { StudioDb } from '../../db/db.ts';
import { createExperiment, deleteExperiment } from '../../db/experiments.ts';
import type { Experiment, JsonObject } from '../../db/types.ts';
import { DEFAULT_ENGINE_SETUP, TOY_MODEL_ID, writeEngineSetup } from '../engines/engine-setup.ts';
import { DEFAULT_REFINE_SETTINGS, writeRefineSettings, type RefineSettings } from '../playground/refine-settings.ts';
import { addTaskSet } from '../tasks/task-sets.ts';
import { TOY_KIND } from '../tasks/toy-kind.ts';
import { toySelfSettings, writeSelfSettings } from './self-settings.ts';

export const TOY_EXPERIMENT_NAME = 'Toy arithmetic (offline)';

/** Self-Refine on the toy model: greedy, one refinement, each step's token budget from the toy kind. */
export const TOY_REFINE_SETTINGS: RefineSettings = {
  ...DEFAULT_REFINE_SETTINGS,
  params: { maxTokens: null, temperature: 0, topP: null, topK: null, seed: 0 },
  stop: { maxRounds: 1, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true, maxUnparsedInRow: 1 },
  batchSize: 64,
};

export function toyExperimentSettings(): JsonObject {
  let s: JsonObject = writeEngineSetup({}, DEFAULT_ENGINE_SETUP);
  s = writeRefineSettings(s, TOY_REFINE_SETTINGS);
  return writeSelfSettings(s, toySelfSettings());
}

/** Creates the toy experiment with its task set; on a failure nothing is left behind. */
export async function createToyExperiment(db: StudioDb, seed = 1): Promise<Experiment> {
  const self = toySelfSettings();
  const experiment = await createExperiment(db, { name: TOY_EXPERIMENT_NAME, modelId: TOY_MODEL_ID, engine: 'tfjs', settings: toyExperimentSettings() });
  try {
    await addTaskSet(db, experiment.id, TOY_KIND, { seed, train: self.perRound * self.rounds, eval: self.evalCount });
  } catch (e) {
    await deleteExperiment(db, experiment.id).catch(() => undefined);
    throw e;
  }
  return experiment;
}
