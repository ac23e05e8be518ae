/**
 * A tab's settings form, the same for every tab (Playground, SELF, SRT, Training, Evaluation): the settings as
 * stored in the experiment (read leniently by the tab's reader, with the problem when some could not be used),
 * the draft the form edits, whether it differs, and saving it. A draft without edits follows the stored
 * settings when they change (another tab, or the Settings tab's JSON). Create it while a component
 * initialises (it uses $effect).
 */
import { untrack } from 'svelte';

export interface StoredSettings<T> {
  value: T;
  /** Why some stored settings could not be used (they are shown as defaults), or null. */
  problem: string | null;
}

export class SettingsDraft<T> {
  readonly #read: () => StoredSettings<T>;
  readonly #write: (value: T) => Promise<unknown>;
  /** The stored settings, re-read whenever what `read` reads changes. */
  readonly stored = $derived.by(() => this.#read());
  /** What the form edits (bind to it). */
  draft = $state<T>(undefined as T);
  readonly dirty = $derived(JSON.stringify(this.draft) !== JSON.stringify(this.stored.value));

  constructor(read: () => StoredSettings<T>, write: (value: T) => Promise<unknown>) {
    this.#read = read;
    this.#write = write;
    this.draft = structuredClone(untrack(() => this.stored.value));
    let basis = untrack(() => JSON.stringify(this.stored.value));
    $effect.pre(() => {
      const next = JSON.stringify(this.stored.value);
      if (next === basis) return;
      if (untrack(() => JSON.stringify(this.draft)) === basis) this.draft = structuredClone(untrack(() => this.stored.value));
      basis = next;
    });
  }

  get problem(): string | null {
    return this.stored.problem;
  }

  /** Writes the draft when it differs from what is stored; returns it (a plain copy). */
  async save(): Promise<T> {
    const value = $state.snapshot(this.draft) as T;
    if (this.dirty) await this.#write(value);
    return value;
  }

  /** Replaces the draft (e.g. with the model's defaults); it is saved with the next save(). */
  reset(value: T): void {
    this.draft = structuredClone(value);
  }
}
