/**
 * HelperChoice (src/core/kernels/pool.ts): which of helpers ('pool') and one thread ('single') runs a decode
 * step, from pairs of neighbouring probe steps; a new probe when the chosen mode's time moves or every period.
 * Step times here are made up: the class sees only what `record` is given.
 */
import { describe, expect, it } from 'vitest';
import { HelperChoice } from '../../src/core/kernels/pool.ts';

/** Runs `n` steps, each timed by `ms(mode, step)`, and returns the modes they ran in. */
function run(choice: HelperChoice, n: number, ms: (mode: 'pool' | 'single', step: number) => number, from = 0): Array<'pool' | 'single'> {
  const modes: Array<'pool' | 'single'> = [];
  for (let s = from; s < from + n; s++) {
    const mode = choice.next();
    modes.push(mode);
    choice.record(mode, ms(mode, s));
  }
  return modes;
}

const tally = (modes: readonly string[]) => ({ pool: modes.filter((m) => m === 'pool').length, single: modes.filter((m) => m === 'single').length });

describe('HelperChoice', () => {
  it('probes in alternate steps, then keeps the faster mode', () => {
    const fastPool = new HelperChoice();
    expect(run(fastPool, 8, (m) => (m === 'pool' ? 15 : 20))).toEqual(['pool', 'single', 'pool', 'single', 'pool', 'single', 'pool', 'single']);
    expect(tally(run(fastPool, 40, (m) => (m === 'pool' ? 15 : 20)))).toEqual({ pool: 40, single: 0 });

    const fastSingle = new HelperChoice();
    run(fastSingle, 8, (m) => (m === 'pool' ? 30 : 20));
    expect(tally(run(fastSingle, 40, (m) => (m === 'pool' ? 30 : 20)))).toEqual({ pool: 0, single: 40 });
    expect(fastSingle.counts).toEqual({ pool: 4, single: 44 });
  });

  it('judges by pairs, so a longer context after the probe does not count against the helpers', () => {
    // Pool 18 ms and one thread 20 ms at the first context; at a context 1.5× as slow, 27 and 30 ms.
    const choice = new HelperChoice();
    const ms = (m: 'pool' | 'single', s: number) => (m === 'pool' ? 18 : 20) * (s >= 20 ? 1.5 : 1);
    run(choice, 20, ms);
    const later = run(choice, 60, ms, 20);
    // Three slower steps move the window's median and start a probe (its four one-thread steps are the only
    // ones), then the helpers again: a choice against the stale 20 ms of one thread would have left them.
    expect(later.slice(0, 3)).toEqual(['pool', 'pool', 'pool']);
    expect(later.slice(3, 11)).toEqual(['pool', 'single', 'pool', 'single', 'pool', 'single', 'pool', 'single']);
    expect(tally(later.slice(11))).toEqual({ pool: 49, single: 0 });
  });

  it('moves to one thread when the helpers slow down (a busy machine), and back when they recover', () => {
    const choice = new HelperChoice();
    const busy = (s: number) => s >= 30 && s < 80;
    const ms = (m: 'pool' | 'single', s: number) => (m === 'single' ? 20 : busy(s) ? 40 : 15);
    run(choice, 30, ms);
    const during = run(choice, 50, ms, 30);
    expect(tally(during.slice(20))).toEqual({ pool: 0, single: 30 });
    // Back to quiet: one thread's 20 ms is its base, so only the period's probe finds the helpers faster again.
    const after = run(choice, 70, ms, 80);
    expect(after.slice(-10)).toEqual(Array(10).fill('pool'));
  });

  it('probes again every period', () => {
    const choice = new HelperChoice(8, 64);
    const modes = run(choice, 64 * 3, (m) => (m === 'pool' ? 15 : 20));
    expect(tally(modes)).toEqual({ pool: 64 * 3 - 12, single: 12 });
    expect(modes.slice(64, 72)).toEqual(['pool', 'single', 'pool', 'single', 'pool', 'single', 'pool', 'single']);
  });
});
