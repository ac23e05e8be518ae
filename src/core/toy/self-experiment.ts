/**
 * SELF on the toy model, measured: rounds of `runSelfEvolution` (src/core/refine) with fresh unlabeled
 * questions each round, and after each round the numbers the issue asks for, on held-out questions:
 *
 *   direct    accuracy of greedy direct answers
 *   refined   accuracy with inference-time self-refinement (draft → own feedback → own refinement)
 *   verdict   self-feedback accuracy: the model's verdict on its own draft matches the truth (measured by
 *             the round's evaluation, src/core/refine/self-feedback.ts, as in the app)
 *   probe     its feedback on the critic probe's varied drafts (critic-probe.ts): the feedback skill, measured
 *             even when its own drafts are all right
 *
 * Round r (1, 2, …) answers `perRound` new questions (the r-th unlabeled set of `generateToyData(seed)`),
 * critiques and refines them itself, keeps the loops its own final feedback calls correct (no labels: the
 * checker is used only to score the evaluation), trains the adapter further on question → final answer
 * (round r continues round r − 1's adapter), then evaluates. Round 0 is the base model.
 * Works with any AdapterEngine (the tfjs engine) and any refine Trainer.
 */
import type { AdapterEngine } from '../engine/capabilities.ts';
import type { GenerationParams } from '../engine/types.ts';
import { AppError } from '../errors.ts';
import type { StopRules } from '../refine/plan.ts';
import type { SampleFilter } from '../refine/samples.ts';
import { runSelfEvolution, type RoundMetrics, type SelfProgress } from '../refine/self-rounds.ts';
import type { Trainer } from '../train/trainer.ts';
import type { StepRecord } from '../refine/types.ts';
import { TOY_MAX_TOKENS } from './evaluate.ts';
import { generateToyData } from './generate.ts';
import { toyKindRegistry, toyTasks } from './kind.ts';
import { criticMissRows, type CriticMissResult } from './critic-miss-mix.ts';
import { probeToyCritic } from './critic-probe.ts';

/** The settings that gave the gain (see README.md); the trainer's own config is passed separately. */
export const TOY_SELF_DEFAULTS = {
  perRound: 200,
  evalCount: 200,
  rounds: 2,
  /** Rows per batched generation call. */
  batchSize: 100,
  /** Collect: draft → feedback → one refinement → its feedback. */
  stop: { maxRounds: 1, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true, maxUnparsedInRow: 1 } satisfies StopRules,
  /** Keep loops whose final answer the model's own feedback calls correct. */
  filter: { requireVerdictCorrect: true } satisfies SampleFilter,
  /**
   * Rows trained each round (SELF): question → final answer, plus the model's own feedback and refinement
   * calls of the kept loops whose answer it changed (checked by its own final feedback, as the filter asks).
   */
  shapes: ['sft', 'step-chats'] as const,
  /**
   * SELF's meta-skill mix per round: annotator feedback and refine chats of fresh meta-split questions
   * (kind.ts → meta-mix.ts); they label no round or held-out question. See README.md, section 7.
   */
  metaMix: { feedback: 200, refine: 50 },
  /** Annotator items the model's critic is tried on before each round; those it gets wrong are trained (critic-miss-mix.ts). */
  criticPool: 0,
} as const;

export interface ToySelfOptions<C> {
  engine: AdapterEngine;
  trainer: Trainer<C>;
  trainConfig: C;
  /** Chooses the unlabeled and held-out questions (generateToyData's seed). */
  seed: number;
  rounds?: number;
  perRound?: number;
  evalCount?: number;
  batchSize?: number;
  stop?: StopRules;
  filter?: SampleFilter;
  /** Start from this adapter instead of the base model. */
  startAdapterId?: string | null;
  /** Row shapes per round (default TOY_SELF_DEFAULTS.shapes). */
  shapes?: readonly ('sft' | 'step-chats')[];
  /** Annotator meta-skill chats mixed into each round (default TOY_SELF_DEFAULTS.metaMix; zeros = none). */
  metaMix?: { feedback: number; refine: number };
  /**
   * Before each round, try the current model's feedback on this many annotator items and train on those it gets
   * wrong (critic-miss-mix.ts; default TOY_SELF_DEFAULTS.criticPool; 0 = off). The rows join the meta-skill mix, so
   * they are trained only when the mix is not 0,0.
   */
  criticPool?: number;
  onProgress?: (p: SelfProgress & { round: number }) => void;
  /** Each round's result as soon as it is measured (round 0 first). */
  onRound?: (r: ToyRoundResult) => void;
  /** Every stored step (loop ids `toy-self/seed-<s>/round-<r>/r<0|1>/<phase>/<task>`), e.g. to keep or show them. */
  onStep?: (step: StepRecord) => void;
  signal?: AbortSignal;
  now?: () => number;
}

export interface ToyRoundResult {
  round: number;
  adapterId: string | null;
  direct: number;
  refined: number;
  /** Self-feedback accuracy on the held-out drafts. */
  verdict: number;
  /** Of wrong held-out drafts, the share the model's feedback called wrong. */
  caught: number;
  /** Of right held-out drafts, the share the model's feedback called wrong. */
  falseAlarm: number;
  /** The same on the critic probe's varied drafts (critic-probe.ts). */
  probeCaught?: number;
  probeFalseAlarm?: number;
  evalTasks: number;
  /** Collect/train of this round (null for round 0). */
  collect: RoundMetrics['collect'];
  train: RoundMetrics['train'];
  /** What the critic pool found before this round's training (null: round 0, or no pool). */
  criticPool?: (Omit<CriticMissResult, 'rows'> & { rows: number; seconds: number }) | null;
  /**
   * Seconds of this round's collect, train and evaluate phases (round 0: evaluate only); `probe` (the critic
   * probe, a measurement of this experiment only) is not part of `total`, the time of a round as the app runs it.
   */
  seconds: { collect: number; train: number; evaluate: number; probe?: number; total: number };
}

export interface ToySelfResult {
  seed: number;
  rounds: ToyRoundResult[];
}

const GREEDY_ANSWER: GenerationParams = { temperature: 0, maxTokens: TOY_MAX_TOKENS.draft };
const GREEDY_FEEDBACK: GenerationParams = { temperature: 0, maxTokens: TOY_MAX_TOKENS.feedback };

export async function runToySelf<C>(o: ToySelfOptions<C>): Promise<ToySelfResult> {
  const rounds = o.rounds ?? TOY_SELF_DEFAULTS.rounds;
  if (!Number.isInteger(rounds) || rounds < 1) throw new AppError('bad-input', `SELF rounds must be a whole number ≥ 1 (got ${rounds}).`);
  const data = generateToyData({
    seed: o.seed,
    metaCount: 0,
    rounds,
    perRound: o.perRound ?? TOY_SELF_DEFAULTS.perRound,
    evalCount: o.evalCount ?? TOY_SELF_DEFAULTS.evalCount,
  });
  const evalTasks = toyTasks(data.eval, 'eval');
  const mix = o.metaMix ?? TOY_SELF_DEFAULTS.metaMix;
  const pool = o.criticPool ?? TOY_SELF_DEFAULTS.criticPool;
  const stop = o.stop ?? TOY_SELF_DEFAULTS.stop;
  const out: ToyRoundResult[] = [];
  let adapterId = o.startAdapterId ?? null;
  const probeOf = async (id: string | null) => {
    const p0 = (o.now ?? Date.now)();
    const probe = await probeToyCritic({ engine: o.engine, adapterId: id, seed: o.seed, batchSize: o.batchSize ?? TOY_SELF_DEFAULTS.batchSize, signal: o.signal });
    return { ...probe, seconds: ((o.now ?? Date.now)() - p0) / 1000 };
  };

  for (let r = 1; r <= rounds; r++) {
    const baseline = r === 1;
    const runId = `toy-self/seed-${o.seed}/round-${r}`;
    // The critic probe runs on the model that is loaded anyway (the start model before round 1, the round's
    // adapter after its evaluation), so an engine that switches models (web-llm's evolved builds) never switches back.
    const baseProbe = baseline ? await probeOf(adapterId) : null;
    const t0 = (o.now ?? Date.now)();
    const misses = pool > 0 ? await criticMissRows({ engine: o.engine, adapterId, pool, seed: 700_000 + o.seed * 1000 + r, batchSize: o.batchSize ?? TOY_SELF_DEFAULTS.batchSize, signal: o.signal }) : null;
    const criticPool = misses && { ...misses, rows: misses.rows.length, seconds: ((o.now ?? Date.now)() - t0) / 1000 };
    const registry = toyKindRegistry(misses?.rows ?? []);
    const res = await runSelfEvolution({
      runId,
      tasks: [...toyTasks(data.rounds[r - 1], 'train'), ...evalTasks],
      engine: o.engine,
      trainer: o.trainer,
      trainConfig: o.trainConfig,
      rounds: 1,
      startAdapterId: adapterId,
      loop: { stop, params: GREEDY_ANSWER, feedbackParams: GREEDY_FEEDBACK, oracle: false },
      registry,
      filter: o.filter ?? TOY_SELF_DEFAULTS.filter,
      shapes: o.shapes ?? TOY_SELF_DEFAULTS.shapes,
      // Round r of this experiment is round 1 of its runSelfEvolution call: offset the corpus window by seed.
      metaMix: { ...mix, seed: o.seed * 1000 + r },
      evaluation: { selfRefine: true, stop, baseline },
      store: {
        saveStep: async (s) => o.onStep?.(s),
        saveCheckpoint: async () => {},
        saveRoundMetrics: async () => {},
      },
      onProgress: (p) => o.onProgress?.({ ...p, round: p.round === 0 ? 0 : r }),
      signal: o.signal,
      now: o.now,
      batchSize: o.batchSize ?? TOY_SELF_DEFAULTS.batchSize,
    });
    const span = (round: number, phase: string) => (res.phaseMs[`${round}:${phase}`] ?? 0) / 1000;
    const roundProbe = await probeOf(res.adapterId);
    for (const m of res.history) {
      const probe = m.round === 0 && baseProbe ? baseProbe : roundProbe;
      const evalRound = m.round; // 0 = baseline, 1 = after this call's round
      const seconds =
        evalRound === 0
          ? { collect: 0, train: 0, evaluate: span(0, 'baseline'), probe: probe.seconds, total: span(0, 'baseline') }
          : { collect: span(1, 'collect'), train: span(1, 'train'), evaluate: span(1, 'evaluate'), probe: probe.seconds, total: span(1, 'collect') + span(1, 'train') + span(1, 'evaluate') };
      out.push({
        round: evalRound === 0 ? 0 : r,
        adapterId: m.adapterId,
        direct: m.directAccuracy ?? NaN,
        refined: m.refinedAccuracy ?? NaN,
        verdict: m.selfFeedback?.accuracy ?? NaN,
        caught: m.selfFeedback?.caught ?? NaN,
        falseAlarm: m.selfFeedback?.falseAlarm ?? NaN,
        probeCaught: probe.caught,
        probeFalseAlarm: probe.falseAlarm,
        evalTasks: m.evalTasks,
        collect: m.collect,
        train: m.train,
        criticPool: evalRound === 0 ? null : criticPool,
        seconds,
      });
      o.onRound?.(out[out.length - 1]);
    }
    adapterId = res.adapterId;
  }
  return { seed: o.seed, rounds: out };
}
