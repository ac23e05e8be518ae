/**
 * The SELF table over seeds: per measure and round, the value of each seed, the mean and the spread (sample
 * standard deviation, and min–max). Shared by `npx tsx src/cli/toy-self.ts`, the `toy-self` bench suite and
 * the committed public/models/toy-arith/self_eval.json that the app's evaluation view can show.
 */
import { seedStat, type SeedStat } from '../stats/seed-stat.ts';
import type { ToyRoundResult, ToySelfResult } from './self-experiment.ts';
import type { WeightsFingerprint } from './weights-fingerprint.ts';

export interface ToySelfRow {
  /** Stable key, e.g. `direct.r0`. */
  key: string;
  label: string;
  stat: SeedStat;
}

export interface ToySelfTable {
  seeds: number[];
  rows: ToySelfRow[];
}

const ROUND_NAMES = ['before any round', 'after round 1', 'after round 2', 'after round 3', 'after round 4'];
const roundName = (r: number) => ROUND_NAMES[r] ?? `after round ${r}`;

/** The rows of the table: accuracies in percent, times in seconds. Rounds missing from a seed are skipped. */
export function toySelfTable(results: readonly ToySelfResult[]): ToySelfTable {
  const rows: ToySelfRow[] = [];
  const rounds = Math.min(...results.map((r) => r.rounds.length));
  const at = (res: ToySelfResult, r: number): ToyRoundResult => res.rounds[r];
  const add = (key: string, label: string, pick: (x: ToyRoundResult) => number, scale: number) => {
    for (let r = 0; r < rounds; r++) {
      rows.push({ key: `${key}.r${r}`, label: `${label}, ${roundName(r)}`, stat: seedStat(results.map((res) => scale * pick(at(res, r)))) });
    }
  };
  add('direct', 'direct-answer accuracy', (x) => x.direct, 100);
  add('refined', 'accuracy with self-refinement', (x) => x.refined, 100);
  add('verdict', 'self-feedback verdict accuracy', (x) => x.verdict, 100);
  add('caught', 'wrong drafts its own feedback calls wrong', (x) => x.caught, 100);
  add('probeCaught', 'critic probe: wrong drafts called wrong', (x) => x.probeCaught ?? NaN, 100);
  add('probeFalseAlarm', 'critic probe: right drafts called wrong', (x) => x.probeFalseAlarm ?? NaN, 100);
  if (rounds > 1) {
    rows.push({ key: 'gain.r1', label: 'direct-answer gain of round 1 (points)', stat: seedStat(results.map((res) => 100 * (at(res, 1).direct - at(res, 0).direct))) });
  }
  if (rounds > 2) {
    rows.push({ key: 'gain.r2', label: 'direct-answer gain of rounds 1+2 (points)', stat: seedStat(results.map((res) => 100 * (at(res, 2).direct - at(res, 0).direct))) });
  }
  for (let r = 1; r < rounds; r++) {
    rows.push({ key: `kept.r${r}`, label: `training rows kept by the model's own filter, round ${r}`, stat: seedStat(results.map((res) => at(res, r).collect?.rows ?? 0)) });
    rows.push({ key: `seconds.r${r}`, label: `wall time of round ${r} (collect + train + evaluate), s`, stat: seedStat(results.map((res) => at(res, r).seconds.total)) });
  }
  return { seeds: results.map((r) => r.seed), rows };
}

/** A plain-text rendering: label, mean ± std, min–max, per-seed values. */
export function formatToySelfTable(t: ToySelfTable): string {
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const lines = t.rows.map((r) => {
    const s = r.stat;
    return `${r.label.padEnd(62)} ${fmt(s.mean).padStart(6)} ± ${fmt(s.std).padEnd(5)} [${fmt(s.min)}–${fmt(s.max)}]  seeds ${s.values.map(fmt).join(' / ')}`;
  });
  return [`SELF on the toy model, seeds ${t.seeds.join(', ')} (mean ± sample std [min–max])`, ...lines].join('\n');
}

/**
 * What public/models/toy-arith/self_eval.json holds: how it was made, the weights it was measured on, the table,
 * and every round's numbers. (Records written before `weights` existed lack it: see weights-fingerprint.ts.)
 */
export interface ToySelfRecord {
  command: string;
  settings: unknown;
  weights: WeightsFingerprint;
  table: ToySelfTable;
  results: { seed: number; rounds: Omit<ToyRoundResult, 'adapterId'>[] }[];
}

/** `weights`: the fingerprint of the model file the results were measured on (read before the runs). */
export function toySelfRecord(command: string, settings: unknown, results: readonly ToySelfResult[], weights: WeightsFingerprint): ToySelfRecord {
  return {
    command,
    settings,
    weights,
    table: toySelfTable(results),
    results: results.map((r) => ({ seed: r.seed, rounds: r.rounds.map(({ adapterId: _a, ...rest }) => rest) })),
  };
}
