/**
 * The run on screen: starts a single loop or a batch (or resumes a stored run) through loop-runner.ts and
 * keeps what the page shows — the steps as they are stored, the text being generated, the call waiting in
 * step-through mode, batch progress, the outcome — as one immutable LiveRunView handed to `onChange` on
 * every change. Stop aborts the engine call in flight; step-through waits before each engine call until
 * next() or runToEnd(). Plain TypeScript (tested in Node); PlaygroundState shows it.
 */
import { AppError, isAbort } from '../../core/errors.ts';
import type { LoopResult, PendingCall } from '../../core/refine/loop.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Step } from '../../db/types.ts';
import { resumeRefineRun, startRefineRun, type ResumeArgs, type RunnerDeps, type StartArgs } from '../runs/loop-runner.ts';
import type { RefineRunConfig } from './run-config.ts';

export type LiveStatus = 'running' | 'done' | 'aborted' | 'failed';

export interface LiveRunView {
  runId: string | null;
  mode: RefineRunConfig['mode'];
  status: LiveStatus;
  /** Single loop: every step of the loop so far (stored ones first when resuming). Batch: empty. */
  steps: readonly StepRecord[];
  /** Steps stored by this run (both modes). */
  stepCount: number;
  /** The engine call in progress and its text so far (single loop). */
  streaming: { call: PendingCall; text: string } | null;
  /** Step-through: the call waiting for "Next step". */
  waiting: PendingCall | null;
  stepThrough: boolean;
  /** Batch: loops finished / total; `doneAtStart` finished before this session (for the ETA). */
  progress: { done: number; total: number; doneAtStart: number; startedAt: number } | null;
  results: readonly LoopResult[];
  error: AppError | null;
}

export interface LiveRunDeps extends RunnerDeps {
  now?: () => number;
}

function asAppError(e: unknown): AppError {
  return e instanceof AppError ? e : new AppError('internal', e instanceof Error ? e.message : String(e));
}

export class LiveRun {
  #view: LiveRunView;
  readonly #deps: LiveRunDeps;
  readonly #onChange: (v: LiveRunView) => void;
  readonly #abort = new AbortController();
  #release: (() => void) | null = null;
  #finished: Promise<void> | null = null;

  private constructor(deps: LiveRunDeps, mode: RefineRunConfig['mode'], stepThrough: boolean, onChange: (v: LiveRunView) => void) {
    this.#deps = deps;
    this.#onChange = onChange;
    this.#view = {
      runId: null,
      mode,
      status: 'running',
      steps: [],
      stepCount: 0,
      streaming: null,
      waiting: null,
      stepThrough,
      progress: null,
      results: [],
      error: null,
    };
  }

  get view(): LiveRunView {
    return this.#view;
  }

  /** Resolves when the run has ended (any status). */
  get finished(): Promise<void> {
    return this.#finished ?? Promise.resolve();
  }

  #set(patch: Partial<LiveRunView>): void {
    this.#view = { ...this.#view, ...patch };
    this.#onChange(this.#view);
  }

  #hooks(total: number) {
    const now = this.#deps.now ?? Date.now;
    return {
      onRunStarted: (run: { id: string }, stored: readonly Step[]) => {
        const single = this.#view.mode === 'single';
        this.#set({
          runId: run.id,
          steps: single ? [...stored] : [],
          progress: single ? null : { done: 0, total, doneAtStart: 0, startedAt: now() },
        });
      },
      onStep: (step: Step) => {
        const streaming = this.#view.streaming;
        this.#set({
          steps: this.#view.mode === 'single' ? [...this.#view.steps, step] : this.#view.steps,
          stepCount: this.#view.stepCount + 1,
          streaming: streaming && streaming.call.kind === step.kind && streaming.call.refineRound === step.refineRound ? null : streaming,
        });
      },
      gate: (call: PendingCall) => {
        if (!this.#view.stepThrough || this.#abort.signal.aborted) return Promise.resolve();
        return new Promise<void>((resolve) => {
          this.#release = resolve;
          this.#set({ waiting: call });
        });
      },
      onCallStart: (call: PendingCall) => this.#set({ streaming: { call, text: '' }, waiting: null }),
      onToken: (delta: string, call: PendingCall) => {
        const s = this.#view.streaming;
        this.#set({ streaming: { call, text: (s && s.call === call ? s.text : '') + delta } });
      },
      onLoopDone: (result: LoopResult, done: number, all: number) => {
        const p = this.#view.progress;
        // Loops that report done before this session stored any step were finished before a resume: they
        // do not count towards the speed (ETA) of this session.
        const restored = this.#view.stepCount === 0;
        this.#set({
          results: [...this.#view.results, result],
          progress: p ? { ...p, done, total: all, doneAtStart: restored ? done : p.doneAtStart } : null,
        });
      },
    };
  }

  #track(work: Promise<unknown>): void {
    this.#finished = work.then(
      () => this.#set({ status: 'done', streaming: null, waiting: null }),
      (e: unknown) => {
        if (isAbort(e)) this.#set({ status: 'aborted', streaming: null, waiting: null });
        else this.#set({ status: 'failed', streaming: null, waiting: null, error: asAppError(e) });
      },
    );
  }

  /** Starts a new stored run (single loop or batch). */
  static start(
    deps: LiveRunDeps,
    args: Omit<StartArgs, 'signal' | 'hooks'>,
    stepThrough: boolean,
    onChange: (v: LiveRunView) => void,
  ): LiveRun {
    const live = new LiveRun(deps, args.config.mode, stepThrough && args.config.mode === 'single', onChange);
    live.#track(startRefineRun(deps, { ...args, signal: live.#abort.signal, hooks: live.#hooks(args.tasks.length) }));
    return live;
  }

  /** Continues a stored run from its steps (`mode` and `total` from its config). */
  static resume(
    deps: LiveRunDeps,
    args: Omit<ResumeArgs, 'signal' | 'hooks'> & { mode: RefineRunConfig['mode']; total: number },
    stepThrough: boolean,
    onChange: (v: LiveRunView) => void,
  ): LiveRun {
    const live = new LiveRun(deps, args.mode, stepThrough && args.mode === 'single', onChange);
    live.#track(resumeRefineRun(deps, { ...args, signal: live.#abort.signal, hooks: live.#hooks(args.total) }));
    return live;
  }

  /** Step-through: make the waiting call. */
  next(): void {
    const release = this.#release;
    this.#release = null;
    if (release) {
      this.#set({ waiting: null });
      release();
    }
  }

  /** Leave step-through and run to the end. */
  runToEnd(): void {
    this.#set({ stepThrough: false });
    this.next();
  }

  /** Stops the run: the call in flight is aborted and the run is stored as 'aborted'. */
  stop(): void {
    this.#abort.abort();
    this.next(); // a waiting gate lets the loop see the abort
  }
}

