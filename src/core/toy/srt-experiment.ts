/**
 * SRT (arXiv 2406.07168) on the toy model, measured the way the SELF experiment is (self-experiment.ts): the
 * same seeds, the same held-out questions, the same measures. A strong critic reviews the base model's drafts
 * of the unlabeled questions SELF rounds 1–3 answer (rounds × perRound of them) and refines them; `runSrt`
 * (src/core/refine/srt.ts) trains the base model with SFT, then DPO on (question, refined ≻ draft) from the SFT
 * adapter. Two variants:
 *
 *   feedback     SFT on the critic's feedback then refinement, in the toy's own two calls ('step-chats')
 *   refine-only  SFT on the refinement without the feedback text ('refine-only': SRT's ablation)
 *
 * Each adapter (SFT, then DPO) is evaluated on the held-out questions: direct answers, answers with
 * inference-time self-refinement (its own feedback and refinement), and its own feedback's verdicts on its
 * drafts (caught, false alarms) and on the critic probe's varied drafts (critic-probe.ts). The critic is any
 * ChatEngine; the bench uses the reference critic (reference-critic.ts). Loops are kept when the refinement fixed the draft (SRT's filter, by the checker:
 * the critic is trusted as the paper trusts GPT-4).
 */
import type { AdapterEngine } from '../engine/capabilities.ts';
import type { ChatEngine, GenerationParams } from '../engine/types.ts';
import { evaluateAccuracy } from '../refine/eval.ts';
import { runSrt } from '../refine/srt.ts';
import { selfFeedbackStats } from '../refine/self-feedback.ts';
import type { Trainer } from '../train/trainer.ts';
import type { StepRecord } from '../refine/types.ts';
import type { Task } from '../tasks/types.ts';
import { probeToyCritic } from './critic-probe.ts';
import { TOY_MAX_TOKENS } from './evaluate.ts';
import { generateToyData } from './generate.ts';
import { toyKindRegistry, toyTasks } from './kind.ts';
import { TOY_SELF_DEFAULTS } from './self-experiment.ts';

export const TOY_SRT_VARIANTS = ['feedback', 'refine-only'] as const;
export type ToySrtVariant = (typeof TOY_SRT_VARIANTS)[number];

/** What one adapter scores on the held-out questions (fractions; NaN where nothing was counted). */
export interface ToyAdapterScores {
  direct: number;
  refined: number;
  verdict: number;
  caught: number;
  falseAlarm: number;
  /** Its feedback on the critic probe's varied drafts (critic-probe.ts): wrong ones called wrong, right ones called wrong. */
  probeCaught?: number;
  probeFalseAlarm?: number;
}

export interface ToySrtRun {
  variant: ToySrtVariant;
  sftRows: number;
  preferencePairs: number;
  /** Loops the critic reviewed / kept (its refinement fixed the draft). */
  loops: number;
  kept: number;
  sft: ToyAdapterScores;
  dpo: ToyAdapterScores;
  seconds: number;
}

export interface ToySrtResult {
  seed: number;
  base: ToyAdapterScores;
  runs: ToySrtRun[];
}

export interface ToySrtOptions<C> {
  actor: AdapterEngine;
  critic: ChatEngine;
  trainer: Trainer<C>;
  sftConfig: C;
  dpoConfig: C;
  seed: number;
  /** Unlabeled questions: those of SELF rounds 1..rounds (default 3 × 200). */
  rounds?: number;
  perRound?: number;
  evalCount?: number;
  batchSize?: number;
  variants?: readonly ToySrtVariant[];
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  now?: () => number;
}

const GREEDY_ANSWER: GenerationParams = { temperature: 0, maxTokens: TOY_MAX_TOKENS.draft };
const GREEDY_FEEDBACK: GenerationParams = { temperature: 0, maxTokens: TOY_MAX_TOKENS.feedback };

/**
 * Direct and self-refined accuracy of one adapter on the held-out tasks, its own verdicts on its drafts, and
 * its verdicts on the critic probe of experiment seed `seed`.
 */
export async function scoreToyAdapter(o: { engine: ChatEngine; adapterId: string | null; tasks: readonly Task[]; runId: string; seed: number; batchSize?: number; signal?: AbortSignal }): Promise<ToyAdapterScores> {
  const registry = toyKindRegistry();
  const common = { engine: o.engine, adapterId: o.adapterId, params: GREEDY_ANSWER, registry, signal: o.signal, batchSize: o.batchSize, tasks: o.tasks };
  const direct = await evaluateAccuracy({ ...common, loopIdFor: (t) => `${o.runId}/direct/${t.id}` });
  const steps: StepRecord[] = [];
  const refined = await evaluateAccuracy({
    ...common,
    loopIdFor: (t) => `${o.runId}/refine/${t.id}`,
    selfRefine: { stop: TOY_SELF_DEFAULTS.stop, feedbackParams: GREEDY_FEEDBACK },
    onStep: async (s) => void steps.push(s),
  });
  const v = selfFeedbackStats(steps, new Map(o.tasks.map((t) => [t.id, t])), registry);
  const probe = await probeToyCritic({ engine: o.engine, adapterId: o.adapterId, seed: o.seed, batchSize: o.batchSize, signal: o.signal });
  return {
    direct: direct.accuracy ?? NaN,
    refined: refined.accuracy ?? NaN,
    verdict: v.accuracy ?? NaN,
    caught: v.caught ?? NaN,
    falseAlarm: v.falseAlarm ?? NaN,
    probeCaught: probe.caught,
    probeFalseAlarm: probe.falseAlarm,
  };
}

export async function runToySrt<C>(o: ToySrtOptions<C>): Promise<ToySrtResult> {
  const rounds = o.rounds ?? 3;
  const data = generateToyData({ seed: o.seed, metaCount: 0, rounds, perRound: o.perRound ?? TOY_SELF_DEFAULTS.perRound, evalCount: o.evalCount ?? TOY_SELF_DEFAULTS.evalCount });
  const evalTasks = toyTasks(data.eval, 'eval');
  const train = toyTasks(data.rounds.flat(), 'train');
  const now = o.now ?? Date.now;
  const say = o.onProgress ?? (() => {});
  const score = (adapterId: string | null, runId: string) => scoreToyAdapter({ engine: o.actor, adapterId, tasks: evalTasks, runId, seed: o.seed, batchSize: o.batchSize, signal: o.signal });
  say(`seed ${o.seed}: evaluating the base model`);
  const base = await score(null, `toy-srt/seed-${o.seed}/base`);
  const runs: ToySrtRun[] = [];
  for (const variant of o.variants ?? TOY_SRT_VARIANTS) {
    const t0 = now();
    const runId = `toy-srt/seed-${o.seed}/${variant}`;
    const cp = await runSrt({
      runId,
      tasks: train,
      actor: o.actor,
      critic: o.critic,
      trainer: o.trainer,
      sftConfig: o.sftConfig,
      dpoConfig: o.dpoConfig,
      params: GREEDY_ANSWER,
      criticParams: GREEDY_FEEDBACK,
      registry: toyKindRegistry(),
      filter: { requireImproved: true },
      sftShapes: [variant === 'feedback' ? 'step-chats' : 'refine-only'],
      dpo: true,
      evaluate: false,
      batchSize: o.batchSize,
      store: { saveStep: async () => {}, saveCheckpoint: async () => {} },
      onProgress: (p) => say(`seed ${o.seed} ${variant}: ${p.message}`),
      signal: o.signal,
      now: o.now,
    });
    say(`seed ${o.seed} ${variant}: evaluating the SFT and DPO adapters`);
    const sft = await score(cp.sftAdapterId, `${runId}/eval-sft`);
    const dpo = await score(cp.dpoAdapterId ?? cp.sftAdapterId, `${runId}/eval-dpo`);
    runs.push({ variant, sftRows: cp.metrics.sftRows, preferencePairs: cp.metrics.preferencePairs, loops: cp.metrics.loops, kept: cp.metrics.kept, sft, dpo, seconds: (now() - t0) / 1000 });
  }
  return { seed: o.seed, base, runs };
}
