/**
 * One engine role of the page (the actor, or the critic): builds the engine for a choice, loads it with
 * progress, keeps it while it is the choice, and unloads (and closes the worker of) the previous one on a
 * switch. Plain TypeScript with a change callback, so it runs in Node tests; EngineManager shows it.
 */
import type { CpuSettings } from './cpu-settings.ts';
import { AppError, isAbort } from '../../core/errors.ts';
import type { ChatEngine, LoadProgress } from '../../core/engine/types.ts';
import { describeChoice, sameChoice, type EngineChoice } from './engine-setup.ts';
import type { Endpoint } from './endpoint-store.ts';

/** What building an engine needs besides the choice. */
export interface LoadExtras {
  /** The browser's OpenAI-compatible endpoint (for `openai` choices). */
  endpoint: Endpoint | null;
  /** The files of a picked model folder (for tfjs `folder` choices). */
  folderFiles: File[] | null;
  /** The CPU engine's settings (threads, 8-bit weights) for tfjs choices; absent = the defaults. */
  cpu?: CpuSettings;
}

export interface BuiltEngine {
  engine: ChatEngine;
  /** The id to pass to engine.load(). */
  loadId: string;
  /** After load: a line about how it runs (backend, quantisation choice), or null. */
  describe?: () => string | null;
  /** Frees what unload() leaves (a worker). */
  dispose?: () => void;
}

export type EngineBuilder = (choice: EngineChoice, extras: LoadExtras) => BuiltEngine;

export type SlotStatus = 'empty' | 'loading' | 'ready' | 'failed';

export interface SlotView {
  status: SlotStatus;
  choice: EngineChoice | null;
  /** describeChoice(choice), for people. */
  label: string;
  progress: LoadProgress | null;
  /** The loaded model's id as the engine reports it. */
  modelId: string | null;
  /** How it runs (backend / variant reason), after load. */
  detail: string | null;
  error: AppError | null;
}

export const EMPTY_SLOT: SlotView = { status: 'empty', choice: null, label: '', progress: null, modelId: null, detail: null, error: null };

function asAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  return new AppError('engine', `The model could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
}

export class EngineSlot {
  readonly role: 'actor' | 'critic';
  #build: EngineBuilder;
  #onChange: (v: SlotView) => void;
  #view: SlotView = EMPTY_SLOT;
  #current: BuiltEngine | null = null;
  #loading: AbortController | null = null;
  /** Increases with every load/unload, so a superseded load cannot overwrite a newer state. */
  #generation = 0;
  /** The load() under way (ensure() waits for it rather than starting another). */
  #inflight: { choice: EngineChoice; loading: Promise<void> } | null = null;

  constructor(role: 'actor' | 'critic', build: EngineBuilder, onChange: (v: SlotView) => void) {
    this.role = role;
    this.#build = build;
    this.#onChange = onChange;
  }

  get view(): SlotView {
    return this.#view;
  }

  /** The loaded engine, or null unless ready. */
  get engine(): ChatEngine | null {
    return this.#view.status === 'ready' ? (this.#current?.engine ?? null) : null;
  }

  #set(patch: Partial<SlotView>): void {
    this.#view = { ...this.#view, ...patch };
    this.#onChange(this.#view);
  }

  /** Whether this choice is loaded (or loading) now. */
  holds(choice: EngineChoice): boolean {
    return (this.#view.status === 'ready' || this.#view.status === 'loading') && sameChoice(this.#view.choice, choice);
  }

  async #release(): Promise<void> {
    const old = this.#current;
    this.#current = null;
    if (!old) return;
    try {
      await old.engine.unload();
    } catch {
      // The engine may be half-loaded or its worker gone; dispose below frees what is left.
    }
    old.dispose?.();
  }

  /**
   * Loads a choice, replacing whatever this slot held. Resolves when loaded; a failure is shown in the view
   * (status 'failed') and rethrown; a cancelled load resolves quietly with the slot empty.
   */
  load(choice: EngineChoice, extras: LoadExtras): Promise<void> {
    const loading = this.#load(choice, extras);
    const inflight = { choice, loading };
    this.#inflight = inflight;
    const settle = () => {
      if (this.#inflight === inflight) this.#inflight = null;
    };
    loading.then(settle, settle);
    return loading;
  }

  async #load(choice: EngineChoice, extras: LoadExtras): Promise<void> {
    this.#loading?.abort();
    const generation = ++this.#generation;
    const controller = new AbortController();
    this.#loading = controller;
    await this.#release();
    if (generation !== this.#generation) return;
    if (controller.signal.aborted) {
      this.#loading = null;
      this.#set({ ...EMPTY_SLOT });
      return;
    }
    this.#set({ status: 'loading', choice, label: describeChoice(choice), progress: null, modelId: null, detail: null, error: null });
    let built: BuiltEngine;
    try {
      built = this.#build(choice, extras);
      this.#current = built;
      await built.engine.load(built.loadId, {
        signal: controller.signal,
        onProgress: (p) => {
          if (generation === this.#generation) this.#set({ progress: p });
        },
      });
    } catch (e) {
      if (generation !== this.#generation) return;
      this.#loading = null;
      await this.#release();
      if (isAbort(e) || controller.signal.aborted) {
        this.#set({ ...EMPTY_SLOT });
        return;
      }
      const error = asAppError(e);
      this.#set({ status: 'failed', error, progress: null });
      throw error;
    }
    if (generation !== this.#generation) return;
    this.#loading = null;
    this.#set({ status: 'ready', modelId: built.engine.modelId, detail: built.describe?.() ?? null, progress: null });
  }

  /**
   * The engine for `choice`, loading it first unless it is loaded (or loading) already: what Run calls, so that
   * a reopened experiment loads its own model by itself, with the slot's progress on screen meanwhile.
   */
  async ensure(choice: EngineChoice, extras: LoadExtras): Promise<ChatEngine> {
    const pending = this.#inflight;
    if (pending && sameChoice(pending.choice, choice)) await pending.loading.catch(() => undefined);
    else if (!this.holds(choice)) await this.load(choice, extras);
    const engine = this.engine;
    if (!engine) throw this.#view.error ?? new AppError('aborted', `Loading the ${this.role} model was cancelled. Press the button again to load it.`);
    return engine;
  }

  /** Stops a load in progress (the slot ends empty). */
  cancel(): void {
    this.#loading?.abort();
  }

  /** Unloads the engine and closes its worker. */
  async unload(): Promise<void> {
    this.#loading?.abort();
    this.#loading = null;
    this.#generation++;
    await this.#release();
    this.#set({ ...EMPTY_SLOT });
  }
}
