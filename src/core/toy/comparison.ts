/**
 * The one table of the toy world's self-improvement methods, side by side on the same seeds and the same
 * held-out questions: the base model (its "with self-refinement" column is Self-Refine at inference), SELF
 * rounds, and SRT's SFT / SFT + DPO stages with and without the feedback text. Built from what the bench
 * stores next to the model (self_eval.json from `--only toy-self`, srt_eval.json from `--only toy-srt`), and
 * rendered as the Markdown the toy README holds (a unit test checks the README against the JSON), and shown by
 * the app's Evaluation tab. Also: the issue's goals for SELF, checked on the stored numbers.
 */
import { AppError } from '../errors.ts';
import { seedStat, type SeedStat } from '../stats/seed-stat.ts';
import type { ToyAdapterScores, ToySrtResult } from './srt-experiment.ts';
import type { WeightsFingerprint } from './weights-fingerprint.ts';

/** What public/models/toy-arith/browser_round.json holds: one SELF round through the app in Chromium. */
export interface BrowserRoundRecord {
  command: string;
  measuredAt: string;
  /** The actor's backend line as the app shows it. */
  backend: string;
  perRound: number;
  evalCount: number;
  /** Active seconds per phase (from the run's stored progress), the click-to-done wall time, the longest stall. */
  seconds: { round: number; collect: number; train: number; evaluate: number; baseline: number; wall: number; longestStall: number };
  /** The run's stored metrics, one point per round. */
  metrics: Record<string, number>[];
}

/** What public/models/toy-arith/srt_eval.json holds (records written before `weights` existed lack it). */
export interface ToySrtRecord {
  command: string;
  settings: unknown;
  /** The model file the results were measured on (read before the runs). */
  weights: WeightsFingerprint;
  results: ToySrtResult[];
}

export function toySrtRecord(command: string, settings: unknown, results: ToySrtResult[], weights: WeightsFingerprint): ToySrtRecord {
  return { command, settings, weights, results };
}

export const MEASURES = ['direct', 'refined', 'caught', 'falseAlarm', 'probeCaught', 'probeFalseAlarm'] as const;
export type Measure = (typeof MEASURES)[number];

export const MEASURE_LABELS: Record<Measure, string> = {
  direct: 'direct',
  refined: 'with self-refinement',
  caught: 'own feedback calls wrong drafts wrong',
  falseAlarm: 'false alarms on right drafts',
  probeCaught: 'feedback on varied drafts: wrong ones called wrong',
  probeFalseAlarm: 'feedback on varied drafts: false alarms',
};

/** The part of a SELF record the table reads: per seed, the scores before any round and after each. */
export interface SelfScores {
  results: readonly { seed: number; rounds: readonly Pick<ToyAdapterScores, Measure>[] }[];
}

export interface ComparisonRow {
  key: string;
  label: string;
  /** Percent, over the seeds. */
  cells: Record<Measure, SeedStat>;
}

export interface ToyComparison {
  seeds: number[];
  rows: ComparisonRow[];
}

function row(key: string, label: string, per: readonly Pick<ToyAdapterScores, Measure>[]): ComparisonRow {
  const cells = {} as Record<Measure, SeedStat>;
  for (const m of MEASURES) cells[m] = seedStat(per.map((s) => 100 * (s[m] ?? NaN)));
  return { key, label, cells };
}

/** The rows of the SELF record alone (base and each round). */
export function selfRows(self: SelfScores): ComparisonRow[] {
  const rounds = Math.min(...self.results.map((r) => r.rounds.length));
  return Array.from({ length: rounds }, (_, r) =>
    row(r === 0 ? 'base' : `self.r${r}`, r === 0 ? 'base model (with self-refinement = Self-Refine at inference)' : `SELF, after round ${r}`, self.results.map((res) => res.rounds[r])),
  );
}

const SRT_LABELS: Record<string, string> = {
  'feedback.sft': 'SRT: SFT on critic feedback then refinement',
  'feedback.dpo': 'SRT: that SFT, then DPO',
  'refine-only.sft': 'SRT ablation: SFT on the refinement only (no feedback text)',
  'refine-only.dpo': 'SRT ablation: that SFT, then DPO',
};

/**
 * One table from both records, on the same held-out questions: the SRT seeds must be the SELF seeds, or some of
 * them (a shorter run), in which case the SRT rows say which seeds their means are over.
 */
export function toyComparison(self: SelfScores, srt: Pick<ToySrtRecord, 'results'> | null): ToyComparison {
  const seeds = self.results.map((r) => r.seed);
  const rows = selfRows(self);
  if (srt) {
    const srtSeeds = srt.results.map((r) => r.seed);
    if (srtSeeds.length === 0 || !srtSeeds.every((s, i) => seeds.includes(s) && srtSeeds.indexOf(s) === i)) {
      throw new AppError('bad-input', `The SELF results are for seeds ${seeds.join(', ')} and the SRT results for ${srtSeeds.join(', ')}: run both benches on the same seeds.`);
    }
    const only = srtSeeds.length < seeds.length ? ` (seed${srtSeeds.length > 1 ? 's' : ''} ${srtSeeds.join(', ')} only)` : '';
    const variants = srt.results[0]?.runs.map((r) => r.variant) ?? [];
    for (const v of variants) {
      const runs = srt.results.map((res) => res.runs.find((r) => r.variant === v)!);
      rows.push(row(`srt.${v}.sft`, `${SRT_LABELS[`${v}.sft`] ?? `SRT ${v}, SFT`}${only}`, runs.map((r) => r.sft)));
      rows.push(row(`srt.${v}.dpo`, `${SRT_LABELS[`${v}.dpo`] ?? `SRT ${v}, SFT then DPO`}${only}`, runs.map((r) => r.dpo)));
    }
  }
  return { seeds, rows };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

/** "93.2 ± 1.1 (92.0, 93.5, 94.0)": mean ± sample std, then each seed's value; "–" when no seed has a value. */
export function formatCell(s: SeedStat): string {
  if (!s.values.some(Number.isFinite)) return '–';
  return s.values.length > 1 ? `${fmt(s.mean)} ± ${fmt(s.std)} (${s.values.map(fmt).join(', ')})` : fmt(s.mean);
}

/** The table as Markdown (what the toy README holds between its generated-table markers). */
export function comparisonMarkdown(c: ToyComparison): string {
  const head = `| held-out accuracy, % (mean ± std (per seed), seeds ${c.seeds.join(', ')}) | ${MEASURES.map((m) => MEASURE_LABELS[m]).join(' | ')} |`;
  const rule = `| --- |${MEASURES.map(() => ' --- |').join('')}`;
  return [head, rule, ...c.rows.map((r) => `| ${r.label} | ${MEASURES.map((m) => formatCell(r.cells[m])).join(' | ')} |`)].join('\n');
}

export interface GoalCheck {
  goal: string;
  met: boolean;
  detail: string;
}

/** The mean over the seeds where the measure is defined (NaN when none is). */
function definedMean(s: SeedStat): number {
  const v = s.values.filter(Number.isFinite);
  return v.length === 0 ? NaN : v.reduce((a, x) => a + x, 0) / v.length;
}

/** The catch rate on its own drafts, saying which seeds had no wrong draft to catch. */
function ownCatch(s: SeedStat): string {
  const undefinedSeeds = s.values.filter((v) => !Number.isFinite(v)).length;
  if (undefinedSeeds === s.values.length) return '– (no seed had a wrong draft)';
  return `${fmt(definedMean(s))}%${undefinedSeeds === 0 ? '' : ` (${undefinedSeeds === 1 ? 'a seed' : `${undefinedSeeds} seeds`} had no wrong draft)`}`;
}

/** The issue's goals for SELF, on the means over the seeds. */
export function selfGoals(self: SelfScores): GoalCheck[] {
  const rows = selfRows(self);
  const after = rows.slice(1);
  const mean = (r: ComparisonRow, m: Measure) => r.cells[m].mean;
  const list = (f: (r: ComparisonRow, i: number) => string) => after.map(f).join('; ');
  const goals: GoalCheck[] = [
    {
      // A seed whose round left no wrong held-out draft has no catch rate on its own drafts: that mean is over
      // the other seeds, and the critic probe's varied drafts (critic-probe.ts) always have wrong ones.
      goal: 'after every round, its feedback calls ≥ 80% of wrong drafts wrong (its own drafts, and the probe\'s varied drafts)',
      met: after.every((r) => !(definedMean(r.cells.caught) < 80) && !(definedMean(r.cells.probeCaught) < 80)),
      detail: list((r, i) => `round ${i + 1}: own ${ownCatch(r.cells.caught)}, probe ${fmt(definedMean(r.cells.probeCaught))}%`),
    },
    {
      goal: 'after every round, ≤ 5% false alarms on right drafts (own and probe)',
      met: after.every((r) => mean(r, 'falseAlarm') <= 5 && !(definedMean(r.cells.probeFalseAlarm) > 5)),
      detail: list((r, i) => `round ${i + 1}: own ${fmt(mean(r, 'falseAlarm'))}%, probe ${fmt(definedMean(r.cells.probeFalseAlarm))}%`),
    },
    {
      goal: 'after every round, with self-refinement ≥ direct + 3 points (while direct < 97%)',
      met: after.every((r) => mean(r, 'direct') >= 97 || mean(r, 'refined') >= mean(r, 'direct') + 3),
      detail: list((r, i) => `round ${i + 1}: ${fmt(mean(r, 'refined'))} vs ${fmt(mean(r, 'direct'))}`),
    },
    {
      goal: 'each round raises direct accuracy, until it passes 97%',
      met: after.every((r, i) => mean(rows[i], 'direct') > 97 || mean(r, 'direct') > mean(rows[i], 'direct')),
      detail: rows.map((r) => fmt(mean(r, 'direct'))).join(' → '),
    },
  ];
  return goals;
}

export function goalsMarkdown(goals: readonly GoalCheck[]): string {
  return goals.map((g) => `- ${g.met ? 'met' : '**not met**'}: ${g.goal} (${g.detail})`).join('\n');
}

export const README_TABLE_START = '<!-- toy-results: generated by `npx tsx tests/scripts/toy-readme.ts` from self_eval.json, srt_eval.json and browser_round.json; do not edit -->';
export const README_TABLE_END = '<!-- /toy-results -->';

/** What the toy README holds between its markers: the table, then the goals, from the stored records. */
export function readmeResults(self: SelfScores & { command?: string }, srt: (Pick<ToySrtRecord, 'results'> & { command?: string }) | null, browser: BrowserRoundRecord | null = null): string {
  const made = [self.command, srt?.command].filter((c): c is string => !!c).map((c) => `\`${c}\``).join(' and ');
  const round = browser
    ? [
        '',
        `One round through the app's SELF tab in Chromium (\`${browser.command}\`, ${browser.perRound} unlabeled and ${browser.evalCount} held-out questions, ${browser.backend}): ` +
          `${fmt(browser.seconds.round)} s (collect ${fmt(browser.seconds.collect)} s, LoRA training ${fmt(browser.seconds.train)} s, evaluation ${fmt(browser.seconds.evaluate)} s; goal ≤ 300 s), ` +
          `the progress bar never stood still longer than ${fmt(browser.seconds.longestStall)} s.`,
      ]
    : [];
  return [
    README_TABLE_START,
    comparisonMarkdown(toyComparison(self, srt)),
    '',
    `The goals, on the means over the seeds${made ? ` (from ${made})` : ''}:`,
    '',
    goalsMarkdown(selfGoals(self)),
    ...round,
    README_TABLE_END,
  ].join('\n');
}

/** The README with its generated block replaced (it must hold both markers once). */
export function withReadmeResults(readme: string, block: string): string {
  const a = readme.indexOf(README_TABLE_START);
  const b = readme.indexOf(README_TABLE_END);
  if (a < 0 || b < a) throw new AppError('bad-input', 'The README has no generated toy-results block (its start and end markers).');
  return readme.slice(0, a) + block + readme.slice(b + README_TABLE_END.length);
}
