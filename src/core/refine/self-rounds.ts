import { requireCapability, type AdapterEngine } from '../engine/capabilities.ts';
import type { ChatEngine, GenerationParams } from '../engine/types.ts';
import { AppError, throwIfAborted } from '../errors.ts';
import type { Task } from '../tasks/types.ts';
import { cutOffTally, type CutOffTally, type TaskParams } from './budgets.ts';
import { evaluateAccuracy, answerDirect } from './eval.ts';
import { judgePair, winRates, type JudgeTemplate, type PairOutcome, type WinRates } from './judge.ts';
import { kindRegistry, type KindRegistry } from './kinds.ts';
import { runSelfRefineBatch } from './loop.ts';
import type { OracleMode } from './oracle.ts';
import type { StopRules } from './plan.ts';
import { PhaseClock, phaseEstimate, type PhaseTimes, type ProgressEstimate } from './progress.ts';
import { buildSamples, selectLoops, summarizeLoops, type SampleFilter, type SampleShape } from './samples.ts';
import type { SelfFeedbackStats } from './self-feedback.ts';
import type { PromptTemplates } from './templates.ts';
import { afterStepsText, type Trainer } from '../train/trainer.ts';
import type { PromptCompletionRow, SftRow } from '../train/trl.ts';
import type { StepRecord } from './types.ts';

/**
 * SELF (arXiv 2310.00533) rounds on device. Optional meta-skill stage (round 0): loops whose feedback comes
 * from a critic (or the checker) give "draft → feedback then refinement" rows, and the model is trained on
 * them. Optional baseline evaluation (round 0). Then for each round r = 1..N:
 *   collect   answer the train-split prompts with the current adapter, self-feedback, self-refine
 *   train     filter the finished loops into SFT rows and train the adapter further (skipped when no rows)
 *   evaluate  on the eval split: direct answers and, separately, answers with inference-time self-refinement
 *             (accuracy by the checkers); open tasks judged pairwise against the base model when a judge is set
 * After each phase the orchestrator saves a checkpoint; after each evaluation it saves the round's metrics.
 *
 * What is stored, and how resume works: every step goes through store.saveStep (loop ids are deterministic:
 * `<runId>/r<round>/<phase>/<taskId>`); the checkpoint says which round and phase come next and which adapter
 * is current. To resume, pass the last checkpoint and the run's stored steps: the current phase continues
 * (finished loops are not redone; unfinished ones resume from their steps; finished evaluations are reused).
 * A training interrupted midway is run again from the phase start.
 */
export type SelfPhase = 'meta-skill' | 'baseline' | 'collect' | 'train' | 'evaluate' | 'done';

export interface RoundMetrics {
  /** 0 = before SELF training (after the meta-skill stage, when there is one). */
  round: number;
  /** The adapter evaluated. */
  adapterId: string | null;
  collect: { loops: number; kept: number; improved: number; rows: number; cutOff?: CutOffTally } | null;
  train: { rows: number; metrics: Record<string, number>; skipped: boolean } | null;
  /** Checker accuracy on the eval split; null when no eval task can be checked. */
  directAccuracy: number | null;
  refinedAccuracy: number | null;
  /** The model's own verdicts on its drafts in the self-refined evaluation, against the checker; null without it. */
  selfFeedback: SelfFeedbackStats | null;
  /** Verifiable eval tasks counted. */
  evalTasks: number;
  /** Of those, answers cut off by the token limit: direct, self-refined (null when not evaluated), and the feedback of the self-refined loops. */
  cutOff?: { direct: number; refined: number | null; feedback: { n: number; cutOff: number } | null };
  /** Adapter vs base model on open eval tasks (judge), or null. */
  pairwise: WinRates | null;
}

export interface SelfCheckpoint {
  runId: string;
  round: number;
  /** The phase to run next. */
  phase: SelfPhase;
  /** The adapter in use (after the latest finished training). */
  adapterId: string | null;
  /** Set after training in the current round (until it is evaluated). */
  lastTrain: { rows: number; metrics: Record<string, number>; skipped: boolean } | null;
  lastCollect: RoundMetrics['collect'];
  history: RoundMetrics[];
}

/**
 * Where SELF writes. Each call is awaited before the run goes on. After a resume, a phase interrupted after its
 * last write may write again (the same round's metrics, the same checkpoint): store metrics by round and keep
 * only the latest checkpoint of a run.
 */
export interface SelfStore {
  saveStep(step: StepRecord): Promise<void>;
  /** With the active time of each phase so far, keyed `<round>:<phase>` (resumed runs included). */
  saveCheckpoint(checkpoint: SelfCheckpoint, phaseMs: PhaseTimes): Promise<void>;
  saveRoundMetrics(metrics: RoundMetrics): Promise<void>;
}

export interface SelfProgress {
  round: number;
  phase: Exclude<SelfPhase, 'done'>;
  done: number;
  total: number;
  estimate: ProgressEstimate;
  message: string;
  /** How far into the phase, 0 to 1, when `done` of `total` counts only a part of it (the merge after training). */
  inside?: number;
}

export interface LoopConfig {
  stop: StopRules;
  params?: TaskParams;
  feedbackParams?: TaskParams;
  refineParams?: TaskParams;
  oracle?: boolean | OracleMode;
  historyLimit?: number;
}

export interface SelfOptions<C = unknown> {
  runId: string;
  /** All tasks; the train split is collected on, the eval split evaluated on. */
  tasks: readonly Task[];
  /** The actor: it applies each adapter the trainer makes (refused before any work when it cannot). */
  engine: AdapterEngine;
  trainer: Trainer<C>;
  trainConfig: C;
  /** SELF rounds after round 0. */
  rounds: number;
  startAdapterId?: string | null;
  /** Loops while collecting. */
  loop: LoopConfig;
  templates?: PromptTemplates | ((task: Task) => PromptTemplates);
  registry?: KindRegistry;
  /**
   * The train-split prompts collected on in round r (default: all of them every round). E.g. a fresh window
   * of the train split per round, as the toy experiment does. Not used by the meta-skill stage.
   */
  roundTasks?: (round: number, train: readonly Task[]) => readonly Task[];
  /** Which finished loops become training rows (default: all with an answer). */
  filter?: SampleFilter;
  /** Row shapes trained each round (default ['sft']: prompt → refined answer; add 'meta' to keep the meta-skill). */
  shapes?: readonly ('sft' | 'prompt-completion' | 'meta')[];
  /** Meta-skill stage: feedback from `critic` (refining too when set) and/or the checker. Null/undefined = none. */
  metaSkill?: { critic?: ChatEngine; oracle?: boolean | OracleMode; stop?: StopRules; filter?: SampleFilter } | null;
  evaluation?: {
    /** Also evaluate with inference-time self-refinement (default true). */
    selfRefine?: boolean;
    /** Stop rules for that (default: loop.stop). */
    stop?: StopRules;
    /** Evaluate before any SELF round (round 0). Default true. */
    baseline?: boolean;
    judge?: ChatEngine;
    judgeTemplate?: JudgeTemplate;
    judgeParams?: GenerationParams;
  };
  store: SelfStore;
  /** The last checkpoint, the run's stored steps and the phase times stored with that checkpoint. */
  resume?: { checkpoint: SelfCheckpoint; steps: readonly StepRecord[]; phaseMs?: PhaseTimes };
  onProgress?: (p: SelfProgress) => void;
  signal?: AbortSignal;
  now?: () => number;
  batchSize?: number;
}

export interface SelfResult {
  adapterId: string | null;
  history: RoundMetrics[];
  checkpoint: SelfCheckpoint;
  /** Active time per phase, keyed `<round>:<phase>`. */
  phaseMs: PhaseTimes;
}

export function selfLoopId(runId: string, round: number, phase: string, taskId: string): string {
  return `${runId}/r${round}/${phase}/${taskId}`;
}

export async function runSelfEvolution<C>(o: SelfOptions<C>): Promise<SelfResult> {
  requireCapability(o.engine, 'adapters', 'SELF');
  if (!Number.isInteger(o.rounds) || o.rounds < 0 || o.rounds > 100) {
    throw new AppError('bad-input', `The number of SELF rounds must be a whole number from 0 to 100 (got ${o.rounds}).`);
  }
  const registry = o.registry ?? kindRegistry;
  const now = o.now ?? Date.now;
  const train = o.tasks.filter((t) => t.split === 'train');
  const evalTasks = o.tasks.filter((t) => t.split === 'eval');
  if (train.length === 0) throw new AppError('bad-input', 'SELF needs tasks in the train split; this task set has none.');
  const evaluation = { selfRefine: true, baseline: true, ...o.evaluation };

  const firstPhase = (): SelfPhase => (o.metaSkill ? 'meta-skill' : evaluation.baseline ? 'baseline' : o.rounds > 0 ? 'collect' : 'done');
  let cp: SelfCheckpoint = o.resume
    ? structuredClone(o.resume.checkpoint)
    : { runId: o.runId, round: o.metaSkill || evaluation.baseline ? 0 : 1, phase: firstPhase(), adapterId: o.startAdapterId ?? null, lastTrain: null, lastCollect: null, history: [] };
  if (cp.runId !== o.runId) throw new AppError('bad-input', `The checkpoint belongs to run ${cp.runId}, not ${o.runId}.`);
  const clock = new PhaseClock(now, o.resume?.phaseMs);
  // A fresh run stores its starting point, so even an abort in the first phase can be resumed.
  if (!o.resume) await o.store.saveCheckpoint(structuredClone(cp), clock.times);

  // Steps known to this run: the stored ones plus everything written from now on.
  const known: StepRecord[] = [...(o.resume?.steps ?? [])];
  const saveStep = async (s: StepRecord) => {
    await o.store.saveStep(s);
    known.push(s);
  };
  const stepsWithPrefix = (prefix: string) => known.filter((s) => s.loopId.startsWith(prefix));

  const report = (phase: SelfProgress['phase'], done: number, total: number, message: string, inside?: number) =>
    o.onProgress?.({ round: cp.round, phase, done, total, estimate: phaseEstimate(done, total, clock.elapsed(), inside), message, ...(inside !== undefined ? { inside } : {}) });

  const advance = async (next: Partial<SelfCheckpoint>) => {
    clock.close(`${cp.round}:${cp.phase}`);
    cp = { ...cp, ...next };
    await o.store.saveCheckpoint(structuredClone(cp), clock.times);
  };
  const afterRound0 = (): SelfPhase => (o.rounds > 0 ? 'collect' : 'done');

  /** Runs (or resumes) collection loops over the train split for this round and phase. */
  const collect = async (phase: 'meta-skill' | 'collect', settings: { critic?: ChatEngine; refiner?: 'actor' | 'critic'; oracle?: boolean | OracleMode; stop: StopRules }) => {
    const prefix = `${o.runId}/r${cp.round}/${phase}/`;
    const stored = stepsWithPrefix(prefix);
    const pool = phase === 'collect' && o.roundTasks ? o.roundTasks(cp.round, train) : train;
    let done = 0;
    report(phase, 0, pool.length, `Round ${cp.round}: answering, critiquing and refining ${pool.length} train prompts`);
    await runSelfRefineBatch({
      loops: pool.map((task) => {
        const loopId = selfLoopId(o.runId, cp.round, phase, task.id);
        return { task, loopId, resumeFrom: stored.filter((s) => s.loopId === loopId) };
      }),
      engine: o.engine,
      critic: settings.critic,
      refiner: settings.refiner,
      oracle: settings.oracle,
      templates: o.templates,
      params: o.loop.params,
      feedbackParams: o.loop.feedbackParams,
      refineParams: o.loop.refineParams,
      stop: settings.stop,
      adapterId: cp.adapterId,
      evolutionRound: cp.round,
      registry,
      historyLimit: o.loop.historyLimit,
      signal: o.signal,
      now: o.now,
      onStep: saveStep,
      batchSize: o.batchSize,
      onLoopDone: () => report(phase, ++done, pool.length, `Round ${cp.round}: ${done} of ${pool.length} loops finished`),
    });
    const steps = stepsWithPrefix(prefix);
    return { loops: summarizeLoops(pool, steps, registry), cutOff: cutOffTally(steps) };
  };

  const trainSft = async (rows: SftRow[], label: string) => {
    report(cp.phase === 'meta-skill' ? 'meta-skill' : 'train', 0, 1, `${label}: training on ${rows.length} rows`);
    const out = await o.trainer.train({
      method: 'sft',
      rows,
      fromAdapterId: cp.adapterId,
      config: o.trainConfig,
      label,
      signal: o.signal,
      onProgress: (p) => {
        const phase = cp.phase === 'meta-skill' ? 'meta-skill' : 'train';
        if (p.after) report(phase, p.after.done, p.after.total, `${label}: ${afterStepsText(p.after)}`, p.fraction);
        else report(phase, p.step, p.totalSteps, `${label}: step ${p.step} of ${p.totalSteps}${p.loss !== null ? `, loss ${p.loss.toFixed(3)}` : ''}`, p.fraction);
      },
    });
    throwIfAborted(o.signal);
    return out;
  };

  const evaluate = async (): Promise<RoundMetrics> => {
    const verifiable = evalTasks.filter((t) => registry.isVerifiable(t));
    const open = evalTasks.filter((t) => !registry.isVerifiable(t));
    const common = { engine: o.engine, adapterId: cp.adapterId, params: o.loop.params, templates: o.templates, registry, evolutionRound: cp.round, signal: o.signal, now: o.now, batchSize: o.batchSize };
    const total = verifiable.length * (evaluation.selfRefine ? 2 : 1) + (evaluation.judge ? open.length : 0);
    let base = 0;
    report('evaluate', 0, total, `Round ${cp.round}: evaluating on ${evalTasks.length} held-out prompts`);
    const direct = await evaluateAccuracy({
      ...common,
      tasks: verifiable,
      loopIdFor: (t) => selfLoopId(o.runId, cp.round, 'eval-direct', t.id),
      resume: stepsWithPrefix(`${o.runId}/r${cp.round}/eval-direct/`),
      onStep: saveStep,
      onProgress: (d) => report('evaluate', d, total, `Round ${cp.round}: direct answers ${d} of ${verifiable.length}`),
    });
    base += verifiable.length;
    let refined: number | null = null;
    let selfFeedback: SelfFeedbackStats | null = null;
    const cutOff: NonNullable<RoundMetrics['cutOff']> = { direct: direct.cutOff, refined: null, feedback: null };
    if (evaluation.selfRefine) {
      const r = await evaluateAccuracy({
        ...common,
        tasks: verifiable,
        loopIdFor: (t) => selfLoopId(o.runId, cp.round, 'eval-refine', t.id),
        resume: stepsWithPrefix(`${o.runId}/r${cp.round}/eval-refine/`),
        selfRefine: { stop: evaluation.stop ?? o.loop.stop, feedbackParams: o.loop.feedbackParams, refineParams: o.loop.refineParams },
        onStep: saveStep,
        onProgress: (d) => report('evaluate', base + d, total, `Round ${cp.round}: self-refined answers ${d} of ${verifiable.length}`),
      });
      refined = r.accuracy;
      selfFeedback = r.selfFeedback;
      cutOff.refined = r.cutOff;
      cutOff.feedback = r.feedback;
      base += verifiable.length;
    }
    let pairwise: WinRates | null = null;
    if (evaluation.judge && open.length > 0) {
      const judge = evaluation.judge;
      const mine = await answerDirect(common, open);
      const theirs = await answerDirect({ ...common, adapterId: null }, open);
      const outcomes: PairOutcome[] = [];
      for (let i = 0; i < open.length; i++) {
        const j = await judgePair({ judge, prompt: open[i].prompt, first: mine[i].result.text, second: theirs[i].result.text, template: evaluation.judgeTemplate, params: evaluation.judgeParams, signal: o.signal });
        outcomes.push(j.outcome);
        report('evaluate', base + i + 1, total, `Round ${cp.round}: judged ${i + 1} of ${open.length} open prompts`);
      }
      pairwise = winRates(outcomes);
    }
    return {
      round: cp.round,
      adapterId: cp.adapterId,
      collect: cp.lastCollect,
      train: cp.lastTrain,
      directAccuracy: direct.accuracy,
      refinedAccuracy: refined,
      selfFeedback,
      evalTasks: direct.n,
      cutOff,
      pairwise,
    };
  };

  while (cp.phase !== 'done') {
    throwIfAborted(o.signal);
    switch (cp.phase) {
      case 'meta-skill': {
        const m = o.metaSkill;
        if (!m) throw new AppError('bad-input', 'The checkpoint is at the meta-skill stage, but no meta-skill settings were given.');
        const { loops } = await collect('meta-skill', { critic: m.critic, refiner: m.critic ? 'critic' : 'actor', oracle: m.oracle, stop: m.stop ?? o.loop.stop });
        const kept = selectLoops(loops, m.filter ?? { requireImproved: true }).kept;
        const rows = buildSamples(kept, { shapes: ['meta'], templates: o.templates, registry }).map((s) => s.row as PromptCompletionRow);
        let adapterId = cp.adapterId;
        let trainInfo: RoundMetrics['train'] = { rows: 0, metrics: {}, skipped: true };
        if (rows.length > 0) {
          const out = await trainSft(rows, 'Meta-skill');
          adapterId = out.adapterId;
          trainInfo = { rows: rows.length, metrics: out.metrics, skipped: false };
        }
        const collectInfo = { loops: loops.length, kept: kept.length, improved: loops.filter((l) => l.improved).length, rows: rows.length };
        await advance({ adapterId, lastTrain: trainInfo, lastCollect: collectInfo, phase: evaluation.baseline ? 'baseline' : afterRound0(), round: evaluation.baseline ? 0 : 1 });
        break;
      }
      case 'baseline': {
        const metrics = await evaluate();
        await o.store.saveRoundMetrics(metrics);
        await advance({ history: [...cp.history, metrics], phase: afterRound0(), round: 1, lastTrain: null, lastCollect: null });
        break;
      }
      case 'collect': {
        const { loops, cutOff } = await collect('collect', { oracle: o.loop.oracle, stop: o.loop.stop });
        const kept = selectLoops(loops, o.filter ?? {}).kept;
        await advance({ phase: 'train', lastCollect: { loops: loops.length, kept: kept.length, improved: loops.filter((l) => l.improved).length, rows: 0, cutOff } });
        break;
      }
      case 'train': {
        const loops = summarizeLoops(train, stepsWithPrefix(`${o.runId}/r${cp.round}/collect/`), registry);
        const kept = selectLoops(loops, o.filter ?? {}).kept;
        const shapes: SampleShape[] = [...(o.shapes ?? ['sft'])];
        const rows = buildSamples(kept, { shapes, templates: o.templates, registry }).map((s) => s.row as SftRow);
        let next: Partial<SelfCheckpoint>;
        if (rows.length === 0) {
          next = { lastTrain: { rows: 0, metrics: {}, skipped: true } };
        } else {
          const out = await trainSft(rows, `SELF round ${cp.round}`);
          next = { adapterId: out.adapterId, lastTrain: { rows: rows.length, metrics: out.metrics, skipped: false } };
        }
        await advance({ ...next, phase: 'evaluate', lastCollect: cp.lastCollect ? { ...cp.lastCollect, rows: rows.length } : null });
        break;
      }
      case 'evaluate': {
        const metrics = await evaluate();
        await o.store.saveRoundMetrics(metrics);
        const last = cp.round >= o.rounds;
        await advance({ history: [...cp.history, metrics], phase: last ? 'done' : 'collect', round: last ? cp.round : cp.round + 1, lastTrain: null, lastCollect: null });
        break;
      }
    }
  }
  return { adapterId: cp.adapterId, history: cp.history, checkpoint: cp, phaseMs: clock.times };
}
