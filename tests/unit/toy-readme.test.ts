/**
 * The toy README's results table is generated from the numbers the bench stores next to the model, never typed:
 * its block must be exactly what src/core/toy/comparison.ts renders from self_eval.json, srt_eval.json and browser_round.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparisonMarkdown, formatCell, readmeResults, README_TABLE_END, README_TABLE_START, selfGoals, toyComparison, withReadmeResults } from '../../src/core/toy/comparison.ts';

const root = join(import.meta.dirname, '../..');
const model = join(root, 'public/models/toy-arith');
const json = (f: string) => (existsSync(join(model, f)) ? JSON.parse(readFileSync(join(model, f), 'utf8')) : null);

describe('the results block of the toy README and of the project README', () => {
  it.each(['src/core/toy/README.md', 'README.md'])('%s: holds the block, and it is what the stored bench numbers render (npx tsx tests/scripts/toy-readme.ts)', (file) => {
    const readme = readFileSync(join(root, file), 'utf8');
    expect(readme).toContain(README_TABLE_START);
    const self = json('self_eval.json');
    expect(self).not.toBeNull();
    expect(withReadmeResults(readme, readmeResults(self, json('srt_eval.json'), json('browser_round.json')))).toBe(readme);
  });
});

describe('toyComparison', () => {
  const scores = (d: number, r: number, c: number, f: number, pc = 0.9, pf = 0.02) => ({ direct: d, refined: r, verdict: 1, caught: c, falseAlarm: f, probeCaught: pc, probeFalseAlarm: pf });
  const self = {
    results: [
      { seed: 1, rounds: [scores(0.5, 0.8, 0.9, 0), scores(0.9, 0.93, 0.85, 0.02)] },
      { seed: 2, rounds: [scores(0.6, 0.85, 0.95, 0.01), scores(0.92, 0.94, 0.8, 0.04)] },
    ],
  };
  const run = (variant: 'feedback' | 'refine-only', d: number) => ({ variant, sftRows: 1, preferencePairs: 1, loops: 1, kept: 1, seconds: 1, sft: scores(d, d, 0.5, 0.1), dpo: scores(d + 0.1, d, 0.5, 0.1) });
  const srt = { results: [1, 2].map((seed) => ({ seed, base: scores(0.5, 0.8, 0.9, 0), runs: [run('feedback', 0.7), run('refine-only', 0.6)] })) };

  it('puts base, SELF rounds and SRT stages in one table, in percent, per seed and mean', () => {
    const c = toyComparison(self, srt);
    expect(c.seeds).toEqual([1, 2]);
    expect(c.rows.map((r) => r.key)).toEqual(['base', 'self.r1', 'srt.feedback.sft', 'srt.feedback.dpo', 'srt.refine-only.sft', 'srt.refine-only.dpo']);
    expect(c.rows[0].cells.direct.values).toEqual([50, 60]);
    expect(c.rows[1].cells.caught.mean).toBeCloseTo(82.5, 10);
    expect(c.rows[3].cells.direct.mean).toBeCloseTo(80, 10);
    const md = comparisonMarkdown(c);
    expect(md.split('\n')).toHaveLength(2 + c.rows.length);
    expect(md).toContain('| SELF, after round 1 | 91.0 ± 1.4 (90.0, 92.0) |');
    // A measure no seed has (no wrong draft left to catch) is one dash, not a mean of nothing.
    const none = toyComparison({ results: self.results.map((r) => ({ ...r, rounds: [r.rounds[0], { ...r.rounds[1], caught: NaN }] })) }, null);
    expect(formatCell(none.rows[1].cells.caught)).toBe('–');
  });

  it('refuses records of different seeds (different held-out questions)', () => {
    expect(() => toyComparison(self, { results: [{ ...srt.results[0], seed: 3 }] })).toThrow(/same seeds/);
    expect(() => toyComparison(self, { results: [srt.results[0], srt.results[0]] })).toThrow(/same seeds/);
    expect(() => toyComparison(self, { results: [] })).toThrow(/same seeds/);
  });

  it('takes SRT on some of the SELF seeds, and its rows say which', () => {
    const c = toyComparison(self, { results: [srt.results[1]] });
    expect(c.seeds).toEqual([1, 2]);
    expect(c.rows[2]).toMatchObject({ key: 'srt.feedback.sft', label: 'SRT: SFT on critic feedback then refinement (seed 2 only)' });
    expect(c.rows[2].cells.direct.values).toEqual([70]);
    expect(toyComparison(self, srt).rows[2].label).toBe('SRT: SFT on critic feedback then refinement');
  });

  it('checks the goals on the means: catch ≥ 80%, false alarms ≤ 5%, refinement +3, a gain every round', () => {
    const g = selfGoals(self);
    expect(g.map((x) => x.met)).toEqual([true, true, false, true]);
    expect(g[0].detail).toBe('round 1: own 82.5%, probe 90.0%');
    expect(g[1].detail).toBe('round 1: own 3.0%, probe 2.0%');
    expect(g[2].detail).toBe('round 1: 93.5 vs 91.0');
    const worse = { results: self.results.map((r) => ({ ...r, rounds: [r.rounds[0], { ...r.rounds[1], direct: 0.4 }] })) };
    expect(selfGoals(worse)[3].met).toBe(false);
    // A seed with no wrong draft left has no catch rate: the goal reads the other seeds, and says so.
    const none = { results: [self.results[0], { ...self.results[1], rounds: [self.results[1].rounds[0], { ...self.results[1].rounds[1], caught: NaN }] }] };
    expect(selfGoals(none)[0]).toMatchObject({ met: true, detail: 'round 1: own 85.0% (a seed had no wrong draft), probe 90.0%' });
    const allRight = { results: self.results.map((r) => ({ ...r, rounds: [r.rounds[0], { ...r.rounds[1], caught: NaN }] })) };
    expect(selfGoals(allRight)[0]).toMatchObject({ met: true, detail: 'round 1: own – (no seed had a wrong draft), probe 90.0%' });
    const low = { results: [self.results[0], { ...self.results[1], rounds: [self.results[1].rounds[0], { ...self.results[1].rounds[1], caught: 0.5 }] }] };
    expect(selfGoals(low)[0].met).toBe(false);
    // The probe's varied drafts count too: a critic that misses them, or cries wolf on them, fails the goals.
    const blindOnProbe = { results: self.results.map((r) => ({ ...r, rounds: [r.rounds[0], { ...r.rounds[1], probeCaught: 0.6 }] })) };
    expect(selfGoals(blindOnProbe)[0].met).toBe(false);
    const alarmsOnProbe = { results: self.results.map((r) => ({ ...r, rounds: [r.rounds[0], { ...r.rounds[1], probeFalseAlarm: 0.08 }] })) };
    expect(selfGoals(alarmsOnProbe)[1].met).toBe(false);
  });

  it('replaces only the generated block of a README', () => {
    const text = `before\n${README_TABLE_START}\nold\n${README_TABLE_END}\nafter`;
    expect(withReadmeResults(text, 'NEW')).toBe('before\nNEW\nafter');
    expect(() => withReadmeResults('no markers', 'NEW')).toThrow(/markers/);
  });
});
