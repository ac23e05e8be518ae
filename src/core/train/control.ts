/**
 * Pausing a training run from outside (a button, a worker message). Aborting goes through an AbortSignal;
 * pausing through this controller. The loop waits between steps while paused.
 */
export class TrainControl {
  private isPaused = false;
  private waiters: Array<() => void> = [];

  get paused(): boolean {
    return this.isPaused;
  }

  /** Pauses before the next step starts (a step in progress finishes first). */
  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when not paused, or as soon as the signal aborts. */
  async waitWhilePaused(signal?: AbortSignal): Promise<void> {
    while (this.isPaused && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }
}
