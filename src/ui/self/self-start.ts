/**
 * Starting a SELF run of an experiment on the page's SELF job, behind the one-trainer-per-browser gate: what
 * the SELF tab's Run SELF and the presentation mode's SELF story both press.
 */
import type { Experiment } from '../../db/types.ts';
import type { AppState } from '../state/app.svelte.ts';
import { pageDeps } from '../state/deps.ts';
import type { JobSession } from '../state/job.svelte.ts';
import type { TrainingEvent } from '../training/stored-trainer.ts';
import type { TrainerGate } from '../training/trainer-gate.svelte.ts';
import { startSelfRun, type SelfEngines, type SelfLive } from '../runs/self-runner.ts';
import type { SelfSettings } from './self-settings.ts';
import { experimentEngines } from '../engines/auto-load.ts';
import type { EngineManager } from '../engines/engine-manager.svelte.ts';
import { announcedTrainingActor } from '../engines/webllm-actor.ts';

/** SELF's engines for the experiment, loaded first when they are not (a reopened experiment loads its own model). A
 *  web-llm actor trains on tfjs from its own cached files and switches to each round's evolved model; the app says so. */
export async function selfEngines(app: AppState, engines: EngineManager, experiment: Experiment): Promise<SelfEngines> {
  const e = await experimentEngines(app.database, engines, experiment.settings);
  return { actor: await announcedTrainingActor(e.actor, 'SELF', (t) => app.say(t)), critic: e.critic };
}

export interface LaunchSelf {
  experiment: Experiment;
  settings: SelfSettings;
  engines: SelfEngines;
  labels: { actor: string; critic: string | null };
  onTraining?: (e: TrainingEvent) => void;
}

/** Starts the run (it waits for the trainer when another job holds it); failures show on the job and the banner. */
export function launchSelf(app: AppState, job: JobSession<SelfLive>, gate: TrainerGate, a: LaunchSelf): void {
  const deps = pageDeps(app);
  const work = () =>
    job.run((signal, report) =>
      startSelfRun(deps, {
        experimentId: a.experiment.id,
        experimentSettings: a.experiment.settings,
        settings: a.settings,
        engines: a.engines,
        labels: a.labels,
        signal,
        hooks: { onRunStarted: (r) => report.row(r.id), onProgress: report.live, onTraining: a.onTraining },
      }),
    );
  void gate.run({ kind: 'self', experimentId: a.experiment.id, runId: null }, work).catch((err: unknown) => app.report(err, 'start SELF'));
}
