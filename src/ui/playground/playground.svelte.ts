/**
 * The playground of one experiment as reactive state: the run on screen (LiveRun's view) and the actions
 * that start, step, stop and resume runs. One per experiment for the life of the page (playgroundFor), so a
 * run keeps going — and stays visible — while the person looks at other tabs.
 */
import { AppError } from '../../core/errors.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { AppState } from '../state/app.svelte.ts';
import { loadCoreTasks } from '../tasks/task-lookup.ts';
import { LiveRun, type LiveRunView } from './live-run.ts';
import type { RunEngines } from '../runs/loop-runner.ts';
import type { RefineSettings } from './refine-settings.ts';
import { parseRunConfig } from './run-config.ts';
import { buildRunConfig, type EngineLabels } from './run-setup.ts';
import type { ShowcaseFind } from './showcase-task.ts';
import { EMPTY_PICK, type TaskPick } from './task-pick.ts';
import type { JsonObject } from '../../db/types.ts';
import { patchSettings } from './experiment-settings.ts';
import { readStoredPick, writeStoredPick, type StoredPick } from './stored-pick.ts';

/** The search for a task the model gets wrong (showcase-task.ts), as the note next to the task picker shows it. */
export interface ShowcaseView {
  status: 'searching' | 'done' | 'failed';
  text: string;
}

export class PlaygroundState {
  live = $state.raw<LiveRunView | null>(null);
  /** The stored run opened for reading (replay), or null. */
  openRunId = $state<string | null>(null);
  /** The task picker's choice (kept here so the quick start can choose the first task). */
  pick = $state<TaskPick>({ ...EMPTY_PICK });
  showcase = $state.raw<ShowcaseView | null>(null);
  readonly experimentId: string;
  readonly #app: AppState;
  #run: LiveRun | null = null;

  constructor(app: AppState, experimentId: string) {
    this.#app = app;
    this.experimentId = experimentId;
  }

  get running(): boolean {
    return this.live?.status === 'running';
  }

  #deps() {
    const locks = this.#app.locks;
    if (!locks) {
      throw new AppError('unsupported', 'This browser lacks the Web Locks API, which keeps runs safe across tabs. Use a recent Chrome, Edge, Firefox or Safari.');
    }
    return { db: this.#app.database, locks };
  }

  #refuseWhileRunning(): void {
    if (this.running) throw new AppError('bad-input', 'A run is in progress. Stop it (or wait for it) first.');
  }

  /** Starts one loop (mode 'single') or a batch over `tasks`. */
  start(mode: 'single' | 'batch', tasks: readonly CoreTask[], settings: RefineSettings, engines: RunEngines, labels: EngineLabels, adapterId: string | null = null): void {
    this.#refuseWhileRunning();
    const config = { ...buildRunConfig(mode, tasks, settings, engines, labels), ...(adapterId ? { adapterId } : {}) };
    this.openRunId = null;
    this.#run = LiveRun.start(this.#deps(), { experimentId: this.experimentId, config, tasks, engines }, settings.stepThrough, (v) => (this.live = v));
    this.live = this.#run.view;
  }

  /** Continues a stored run from its last stored step. */
  async resume(runId: string, engines: RunEngines, stepThrough: boolean): Promise<void> {
    this.#refuseWhileRunning();
    const deps = this.#deps();
    const row = await deps.db.runs.get(runId);
    if (!row) throw new AppError('not-found', 'That run no longer exists.');
    const config = parseRunConfig(row.config);
    this.openRunId = null;
    this.#run = LiveRun.resume(
      deps,
      { runId, engines, mode: config.mode, total: config.taskIds.length, tasks: (ids) => loadCoreTasks(deps.db, ids) },
      stepThrough,
      (v) => (this.live = v),
    );
    this.live = this.#run.view;
  }

  /** Keeps the chosen task in the experiment's settings (stored-pick.ts); a failure goes to the banner. */
  async #keep(pick: StoredPick): Promise<void> {
    await patchSettings(this.#app.database, this.experimentId, (s) => writeStoredPick(s, pick)).catch((e: unknown) => this.#app.report(e, 'keep the chosen task'));
  }

  /** Before any task is chosen on this page: the one stored in the experiment's settings, with its note. */
  restore(settings: JsonObject): void {
    if (this.pick.source !== 'stored' || this.pick.taskId !== '' || this.showcase !== null) return;
    const stored = readStoredPick(settings);
    if (!stored) return;
    this.pick = { ...this.pick, taskId: stored.taskId };
    if (stored.note) this.showcase = { status: 'done', text: stored.note };
  }

  /** The person chose a task in the picker: kept, and the search's note (about another task) is dropped. */
  choose(taskId: string): Promise<void> {
    this.pick = { ...this.pick, source: 'stored', taskId };
    if (this.showcase?.status !== 'searching') this.showcase = null;
    return taskId ? this.#keep({ taskId, note: null }) : Promise.resolve();
  }

  /** Runs a search for a task the model gets wrong first, then picks what it found, says what it is, and keeps both. */
  async pickShowcase(search: () => Promise<ShowcaseFind | null>): Promise<void> {
    if (this.showcase?.status === 'searching') return;
    this.showcase = { status: 'searching', text: 'Trying tasks to find one the model gets wrong at first…' };
    try {
      const found = await search();
      if (found) {
        const text = found.fixed
          ? `Chosen by running the model on ${found.tried} tasks: its first answer to this one is wrong, and its own feedback leads it to fix it.`
          : `Its first answer to this one is wrong, and it does not fix it (no fixed one among ${found.tried} tasks tried).`;
        this.pick = { ...this.pick, source: 'stored', taskId: found.task.id };
        this.showcase = { status: 'done', text };
        await this.#keep({ taskId: found.task.id, note: text });
      } else {
        this.showcase = { status: 'done', text: 'The model answered every checkable task it tried right at once: pick any task.' };
      }
    } catch (e) {
      this.showcase = { status: 'failed', text: e instanceof Error ? e.message : String(e) };
    }
  }

  next(): void {
    this.#run?.next();
  }

  runToEnd(): void {
    this.#run?.runToEnd();
  }

  stop(): void {
    this.#run?.stop();
  }

  /** Clears a finished run from the screen. */
  dismiss(): void {
    if (!this.running) {
      this.live = null;
      this.#run = null;
    }
  }

  open(runId: string | null): void {
    this.openRunId = runId;
  }
}

const sessions = new Map<string, PlaygroundState>();

/** The experiment's playground for this page. */
export function playgroundFor(app: AppState, experimentId: string): PlaygroundState {
  let s = sessions.get(experimentId);
  if (!s) {
    s = new PlaygroundState(app, experimentId);
    sessions.set(experimentId, s);
  }
  return s;
}
