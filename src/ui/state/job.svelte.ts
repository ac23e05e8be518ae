/**
 * A long job of one experiment (a SELF run, an SRT run, an evaluation, a training run) as reactive state:
 * its status, the row it writes, what it reports while it goes, and a stop button's AbortController. One per
 * experiment and kind for the life of the page (`jobFor`), so a job keeps going — and stays visible — while
 * the person looks at other tabs. Failures are shown in the view and reported to the app's error banner.
 */
import { isAbort } from '../../core/errors.ts';
import type { AppState } from './app.svelte.ts';

/** 'empty': it finished with nothing to show for it (error holds the reason and what to change). */
export type JobStatus = 'idle' | 'running' | 'done' | 'empty' | 'failed' | 'aborted';

export interface JobView<L> {
  status: JobStatus;
  /** The run (or training run) row it writes. */
  rowId: string | null;
  live: L | null;
  error: string | null;
}

export class JobSession<L> {
  view = $state.raw<JobView<L>>({ status: 'idle', rowId: null, live: null, error: null });
  readonly #app: AppState;
  readonly #label: string;
  #controller: AbortController | null = null;

  constructor(app: AppState, label: string) {
    this.#app = app;
    this.#label = label;
  }

  get running(): boolean {
    return this.view.status === 'running';
  }

  /**
   * Starts `work` unless a job is running; it receives the stop signal and hooks to report with. When the run
   * row it reported finished 'empty', so does the job, with the row's reason.
   */
  async run<R>(work: (signal: AbortSignal, report: { row: (id: string) => void; live: (l: L) => void }) => Promise<R>): Promise<R | undefined> {
    if (this.running) return undefined;
    const controller = new AbortController();
    this.#controller = controller;
    this.view = { status: 'running', rowId: null, live: null, error: null };
    const report = {
      row: (id: string) => (this.view = { ...this.view, rowId: id }),
      live: (l: L) => (this.view = { ...this.view, live: l }),
    };
    try {
      const out = await work(controller.signal, report);
      const row = this.view.rowId ? await this.#app.database.runs.get(this.view.rowId) : undefined;
      this.view = row?.status === 'empty' ? { ...this.view, status: 'empty', error: row.error } : { ...this.view, status: 'done' };
      return out;
    } catch (e) {
      if (isAbort(e) || controller.signal.aborted) {
        this.view = { ...this.view, status: 'aborted' };
      } else {
        this.view = { ...this.view, status: 'failed', error: e instanceof Error ? e.message : String(e) };
        this.#app.report(e, this.#label);
      }
      return undefined;
    } finally {
      if (this.#controller === controller) this.#controller = null;
    }
  }

  stop(): void {
    this.#controller?.abort();
  }

  dismiss(): void {
    if (!this.running) this.view = { status: 'idle', rowId: null, live: null, error: null };
  }
}

const sessions = new Map<string, JobSession<unknown>>();

/** The page's job of one kind for an experiment. */
export function jobFor<L>(app: AppState, kind: string, experimentId: string, label: string): JobSession<L> {
  const key = `${kind}:${experimentId}`;
  let s = sessions.get(key);
  if (!s) {
    s = new JobSession<unknown>(app, label);
    sessions.set(key, s);
  }
  return s as JobSession<L>;
}
