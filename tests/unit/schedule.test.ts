import { describe, expect, it } from 'vitest';
import { learningRate, lrFactor, makeSchedule } from '../../src/core/train/schedule.ts';

describe('learning-rate schedules (transformers semantics)', () => {
  it('constant: warmup from 0, then flat', () => {
    const o = { kind: 'constant' as const, warmupSteps: 4, totalSteps: 10 };
    expect([0, 1, 2, 3, 4, 5, 9, 10].map((s) => lrFactor(o, s))).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1, 1]);
    expect(lrFactor({ ...o, warmupSteps: 0 }, 0)).toBe(1);
  });

  it('linear: warmup, then down to exactly 0 at totalSteps and never below', () => {
    const o = { kind: 'linear' as const, warmupSteps: 2, totalSteps: 10 };
    expect(lrFactor(o, 0)).toBe(0);
    expect(lrFactor(o, 1)).toBe(0.5);
    expect(lrFactor(o, 2)).toBe(1);
    expect(lrFactor(o, 6)).toBe(0.5);
    expect(lrFactor(o, 9)).toBe(0.125);
    expect(lrFactor(o, 10)).toBe(0);
    expect(lrFactor(o, 12)).toBe(0);
    expect(lrFactor({ kind: 'linear', warmupSteps: 0, totalSteps: 4 }, 0)).toBe(1);
    expect(lrFactor({ kind: 'linear', warmupSteps: 0, totalSteps: 4 }, 3)).toBe(0.25);
  });

  it('cosine: warmup, half a cosine to 0, and num_cycles', () => {
    const o = { kind: 'cosine' as const, warmupSteps: 2, totalSteps: 12 };
    expect(lrFactor(o, 1)).toBe(0.5);
    expect(lrFactor(o, 2)).toBe(1);
    expect(lrFactor(o, 7)).toBeCloseTo(0.5, 12);
    expect(lrFactor(o, 12)).toBeCloseTo(0, 12);
    expect(lrFactor(o, 4)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.2)), 12);
    expect(lrFactor({ ...o, numCycles: 1 }, 12)).toBeCloseTo(1, 12); // a full period comes back up
    expect(lrFactor({ ...o, numCycles: 1 }, 7)).toBeCloseTo(0, 12);
  });

  it('scales the base rate and validates its options', () => {
    expect(learningRate({ kind: 'linear', baseLr: 2e-4, warmupSteps: 0, totalSteps: 4 }, 2)).toBeCloseTo(1e-4, 15);
    const f = makeSchedule({ kind: 'cosine', baseLr: 1, warmupSteps: 0, totalSteps: 2 });
    expect(f(0)).toBe(1);
    expect(() => makeSchedule({ kind: 'linear', baseLr: -1, warmupSteps: 0, totalSteps: 2 })).toThrow(/learning rate/);
    expect(() => makeSchedule({ kind: 'linear', baseLr: 1, warmupSteps: 1.5, totalSteps: 2 })).toThrow(/Warmup/);
    expect(() => makeSchedule({ kind: 'linear', baseLr: 1, warmupSteps: 0, totalSteps: 0 })).toThrow(/Total steps/);
    expect(() => makeSchedule({ kind: 'step' as never, baseLr: 1, warmupSteps: 0, totalSteps: 2 })).toThrow(/Unknown schedule/);
  });
});
