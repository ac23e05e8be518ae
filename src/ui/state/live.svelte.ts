/**
 * A Dexie live query as Svelte state: `.current` holds the latest result and updates whenever the rows it
 * read change — in this tab, another tab or a worker. Create it while a component initialises (it uses
 * $effect, so it stops when the component goes away). `deps` is read reactively: when what it returns
 * changes, the query restarts with the new value.
 */
import { liveQuery } from 'dexie';
import { untrack } from 'svelte';

export class Live<T, D = null> {
  /** undefined until the first result arrives. */
  current = $state.raw<T | undefined>(undefined);
  error = $state.raw<unknown>(undefined);

  constructor(query: (deps: D) => Promise<T>, deps: () => D = () => null as D) {
    $effect(() => {
      const d = deps();
      return untrack(() => {
        const subscription = liveQuery(() => query(d)).subscribe({
          next: (value) => {
            this.current = value;
            this.error = undefined;
          },
          error: (e: unknown) => {
            this.error = e;
          },
        });
        return () => subscription.unsubscribe();
      });
    });
  }

  get loading(): boolean {
    return this.current === undefined && this.error === undefined;
  }
}
