import { requireCapability, type AdapterEngine } from '../engine/capabilities.ts';
import type { ChatEngine, GenerationParams } from '../engine/types.ts';
import { AppError, throwIfAborted } from '../errors.ts';
import type { Task } from '../tasks/types.ts';
import { cutOffTally, type CutOffTally, type TaskParams } from './budgets.ts';
import { evaluateAccuracy } from './eval.ts';
import { kindRegistry, type KindRegistry } from './kinds.ts';
import { runSelfRefineBatch } from './loop.ts';
import type { StopRules } from './plan.ts';
import { PhaseClock, phaseEstimate, type PhaseTimes, type ProgressEstimate } from './progress.ts';
import { buildSamples, selectLoops, summarizeLoops, type LoopSummary, type SampleFilter } from './samples.ts';
import type { PromptTemplates } from './templates.ts';
import { dpoStatsText } from '../train/dpo.ts';
import { afterStepsText, type Trainer, type TrainProgress } from '../train/trainer.ts';
import type { PreferenceRow, SftRow } from '../train/trl.ts';
import type { StepRecord } from './types.ts';

/**
 * SRT (arXiv 2406.07168) on device: a critic (a larger model, another engine, or an OpenAI-compatible
 * endpoint) writes feedback and a refinement for each of the actor's answers; the actor is trained with SFT on
 * the feedback-then-refinement sequence ('meta' rows, optionally also prompt → refinement), then with DPO on
 * (prompt, refined ≻ initial) pairs, starting from the SFT adapter.
 *
 * Phases: collect → sft → dpo → evaluate (optional) → done. A checkpoint is saved after each; loop ids are
 * `<runId>/<phase>/<taskId>`. Resume with the last checkpoint and the run's stored steps.
 */
export type SrtPhase = 'collect' | 'sft' | 'dpo' | 'evaluate' | 'done';

export interface SrtMetrics {
  loops: number;
  kept: number;
  improved: number;
  sftRows: number;
  preferencePairs: number;
  sft: Record<string, number> | null;
  dpo: Record<string, number> | null;
  /** Checker accuracy on the eval split per adapter, when evaluated. */
  accuracy: { start: number | null; sft: number | null; dpo: number | null } | null;
  /** The collect loops' answers and feedback, and how many the token limit cut off (absent in older runs). */
  collectCutOff?: CutOffTally;
  /** Per evaluated adapter: answers checked, and how many the token limit cut off. */
  evalCutOff?: { start: { n: number; cutOff: number } | null; sft: { n: number; cutOff: number } | null; dpo: { n: number; cutOff: number } | null };
}

export interface SrtCheckpoint {
  runId: string;
  phase: SrtPhase;
  startAdapterId: string | null;
  sftAdapterId: string | null;
  dpoAdapterId: string | null;
  metrics: SrtMetrics;
}

export interface SrtStore {
  saveStep(step: StepRecord): Promise<void>;
  /** With the active time of each phase so far, keyed by phase (resumed runs included). */
  saveCheckpoint(checkpoint: SrtCheckpoint, phaseMs: PhaseTimes): Promise<void>;
}

export interface SrtProgress {
  phase: Exclude<SrtPhase, 'done'>;
  done: number;
  total: number;
  estimate: ProgressEstimate;
  message: string;
  /** How far into the phase, 0 to 1, when `done` of `total` counts only a part of it (the merge after training). */
  inside?: number;
}

/** The SFT row shapes SRT trains on (see SrtOptions.sftShapes). */
export type SrtSftShape = 'meta' | 'step-chats' | 'refine-only' | 'sft' | 'prompt-completion';

export interface SrtOptions<C = unknown> {
  runId: string;
  /** Train split: collected on. Eval split: evaluated on (when `evaluate`). */
  tasks: readonly Task[];
  /** Applies the adapters the trainer makes (refused before any work when it cannot). */
  actor: AdapterEngine;
  critic: ChatEngine;
  trainer: Trainer<C>;
  sftConfig: C;
  dpoConfig: C;
  startAdapterId?: string | null;
  /** Critique rounds per answer; default one feedback + one refinement. */
  stop?: StopRules;
  /** The actor's drafts (and evaluation answers). */
  params?: TaskParams;
  /** The critic's feedback. */
  criticParams?: TaskParams;
  /** The critic's refinements; default `params`. */
  refineParams?: TaskParams;
  templates?: PromptTemplates | ((task: Task) => PromptTemplates);
  registry?: KindRegistry;
  /** Which loops train (default: those whose refinement improved on the draft). */
  filter?: SampleFilter;
  /**
   * SFT row shapes; default ['meta'] (feedback then refinement as one completion). 'step-chats' trains the same
   * in the loop's own two calls (the critic's feedback call, then its refine call); 'refine-only' is SRT's
   * ablation without the feedback text. Add 'sft' for prompt → refinement too.
   */
  sftShapes?: readonly SrtSftShape[];
  /** Run the DPO stage (default true). */
  dpo?: boolean;
  /** Evaluate start, SFT and DPO adapters on the eval split by the checkers (default false). */
  evaluate?: boolean;
  store: SrtStore;
  /** The last checkpoint, the run's stored steps and the phase times stored with that checkpoint. */
  resume?: { checkpoint: SrtCheckpoint; steps: readonly StepRecord[]; phaseMs?: PhaseTimes };
  onProgress?: (p: SrtProgress) => void;
  signal?: AbortSignal;
  now?: () => number;
  batchSize?: number;
}

export const SRT_DEFAULT_STOP: StopRules = { maxRounds: 1, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true };

/** What the SFT rows of these shapes hold, for the progress line ("SFT on 278 refinement-only rows"). */
export function sftRowsText(shapes: readonly SrtSftShape[]): string {
  const names: Record<SrtSftShape, string> = {
    meta: 'feedback-then-refinement',
    'step-chats': 'feedback-then-refinement',
    'refine-only': 'refinement-only (no feedback text)',
    sft: 'prompt → refinement',
    'prompt-completion': 'prompt → refinement',
  };
  return [...new Set(shapes.map((x) => names[x]))].join(' and ');
}

export function srtLoopId(runId: string, phase: string, taskId: string): string {
  return `${runId}/${phase}/${taskId}`;
}

export async function runSrt<C>(o: SrtOptions<C>): Promise<SrtCheckpoint> {
  requireCapability(o.actor, 'adapters', 'SRT');
  const registry = o.registry ?? kindRegistry;
  const now = o.now ?? Date.now;
  const train = o.tasks.filter((t) => t.split === 'train');
  const evalTasks = o.tasks.filter((t) => t.split === 'eval');
  if (train.length === 0) throw new AppError('bad-input', 'SRT needs tasks in the train split; this task set has none.');
  if (o.actor === o.critic) {
    throw new AppError('bad-input', 'SRT needs a critic different from the actor. Pick a larger model or an endpoint as the critic.');
  }
  let cp: SrtCheckpoint = o.resume
    ? structuredClone(o.resume.checkpoint)
    : {
        runId: o.runId,
        phase: 'collect',
        startAdapterId: o.startAdapterId ?? null,
        sftAdapterId: null,
        dpoAdapterId: null,
        metrics: { loops: 0, kept: 0, improved: 0, sftRows: 0, preferencePairs: 0, sft: null, dpo: null, accuracy: null },
      };
  if (cp.runId !== o.runId) throw new AppError('bad-input', `The checkpoint belongs to run ${cp.runId}, not ${o.runId}.`);
  const clock = new PhaseClock(now, o.resume?.phaseMs);
  if (!o.resume) await o.store.saveCheckpoint(structuredClone(cp), clock.times);
  const known: StepRecord[] = [...(o.resume?.steps ?? [])];
  const saveStep = async (s: StepRecord) => {
    await o.store.saveStep(s);
    known.push(s);
  };
  const report = (phase: SrtProgress['phase'], done: number, total: number, message: string, inside?: number) =>
    o.onProgress?.({ phase, done, total, estimate: phaseEstimate(done, total, clock.elapsed(), inside), message, ...(inside !== undefined ? { inside } : {}) });
  /** Training progress: the steps, then what an evolving actor does after them (merge, write, retention). */
  const trained = (phase: 'sft' | 'dpo', name: string) => (p: TrainProgress) =>
    p.after
      ? report(phase, p.after.done, p.after.total, `${name}: ${afterStepsText(p.after)}`, p.fraction)
      : report(phase, p.step, p.totalSteps, `${name} step ${p.step} of ${p.totalSteps}${p.loss !== null && p.step > 0 ? `, loss ${p.loss.toFixed(3)}` : ''}${p.dpo ? `, ${dpoStatsText(p.dpo)}` : ''}`, p.fraction);
  const advance = async (next: Partial<SrtCheckpoint>) => {
    clock.close(cp.phase);
    cp = { ...cp, ...next };
    await o.store.saveCheckpoint(structuredClone(cp), clock.times);
  };
  const collectPrefix = `${o.runId}/collect/`;
  const keptLoops = (): LoopSummary[] =>
    selectLoops(summarizeLoops(train, known.filter((s) => s.loopId.startsWith(collectPrefix)), registry), o.filter ?? { requireImproved: true }).kept;

  while (cp.phase !== 'done') {
    throwIfAborted(o.signal);
    switch (cp.phase) {
      case 'collect': {
        let done = 0;
        report('collect', 0, train.length, `The critic reviews and refines the actor's answers to ${train.length} prompts`);
        const stored = known.filter((s) => s.loopId.startsWith(collectPrefix));
        await runSelfRefineBatch({
          loops: train.map((task) => {
            const loopId = srtLoopId(o.runId, 'collect', task.id);
            return { task, loopId, resumeFrom: stored.filter((s) => s.loopId === loopId) };
          }),
          engine: o.actor,
          critic: o.critic,
          refiner: 'critic',
          templates: o.templates,
          params: o.params,
          feedbackParams: o.criticParams,
          refineParams: o.refineParams,
          stop: o.stop ?? SRT_DEFAULT_STOP,
          adapterId: cp.startAdapterId,
          registry,
          signal: o.signal,
          now: o.now,
          onStep: saveStep,
          batchSize: o.batchSize,
          onLoopDone: () => report('collect', ++done, train.length, `${done} of ${train.length} answers reviewed`),
        });
        const collected = known.filter((s) => s.loopId.startsWith(collectPrefix));
        const all = summarizeLoops(train, collected, registry);
        const kept = keptLoops();
        await advance({ phase: 'sft', metrics: { ...cp.metrics, loops: all.length, kept: kept.length, improved: all.filter((l) => l.improved).length, collectCutOff: cutOffTally(collected) } });
        break;
      }
      case 'sft': {
        const rows = buildSamples(keptLoops(), { shapes: [...(o.sftShapes ?? ['meta'])], templates: o.templates, registry }).map((s) => s.row as SftRow);
        if (rows.length === 0) {
          // Nothing to learn from: no adapter is made (DPO then starts from the start adapter).
          await advance({ phase: o.dpo === false ? (o.evaluate ? 'evaluate' : 'done') : 'dpo', sftAdapterId: null, metrics: { ...cp.metrics, sftRows: 0 } });
          break;
        }
        report('sft', 0, 1, `SFT on ${rows.length} ${sftRowsText(o.sftShapes ?? ['meta'])} rows`);
        const out = await o.trainer.train({
          method: 'sft',
          rows,
          fromAdapterId: cp.startAdapterId,
          config: o.sftConfig,
          label: 'SRT SFT',
          signal: o.signal,
          onProgress: trained('sft', 'SFT'),
        });
        throwIfAborted(o.signal);
        await advance({ phase: o.dpo === false ? (o.evaluate ? 'evaluate' : 'done') : 'dpo', sftAdapterId: out.adapterId, metrics: { ...cp.metrics, sftRows: rows.length, sft: out.metrics } });
        break;
      }
      case 'dpo': {
        const pairs = buildSamples(keptLoops(), { shapes: ['preference'], templates: o.templates, registry, manualInclude: new Set(Object.entries(o.filter?.manual ?? {}).filter(([, v]) => v === 'include').map(([k]) => k)) }).map((s) => s.row as PreferenceRow);
        const from = cp.sftAdapterId ?? cp.startAdapterId;
        if (pairs.length === 0) {
          await advance({ phase: o.evaluate ? 'evaluate' : 'done', dpoAdapterId: null, metrics: { ...cp.metrics, preferencePairs: 0 } });
          break;
        }
        report('dpo', 0, 1, `DPO on ${pairs.length} refined ≻ initial pairs`);
        const out = await o.trainer.train({
          method: 'dpo',
          rows: pairs,
          fromAdapterId: from,
          config: o.dpoConfig,
          label: 'SRT DPO',
          signal: o.signal,
          onProgress: trained('dpo', 'DPO'),
        });
        throwIfAborted(o.signal);
        await advance({ phase: o.evaluate ? 'evaluate' : 'done', dpoAdapterId: out.adapterId, metrics: { ...cp.metrics, preferencePairs: pairs.length, dpo: out.metrics } });
        break;
      }
      case 'evaluate': {
        const adapters = { start: cp.startAdapterId, sft: cp.sftAdapterId, dpo: cp.dpoAdapterId };
        const accuracy: NonNullable<SrtMetrics['accuracy']> = { start: null, sft: null, dpo: null };
        const evalCutOff: NonNullable<SrtMetrics['evalCutOff']> = { start: null, sft: null, dpo: null };
        const verifiable = evalTasks.filter((t) => registry.isVerifiable(t));
        let i = 0;
        for (const name of ['start', 'sft', 'dpo'] as const) {
          if (name !== 'start' && adapters[name] === null) continue;
          report('evaluate', i, 3, `Evaluating the ${name} adapter on ${verifiable.length} held-out prompts`);
          const prefix = `${o.runId}/eval-${name}/`;
          const r = await evaluateAccuracy({
            engine: o.actor,
            adapterId: adapters[name],
            params: o.params,
            templates: o.templates,
            registry,
            signal: o.signal,
            now: o.now,
            batchSize: o.batchSize,
            tasks: verifiable,
            loopIdFor: (t) => srtLoopId(o.runId, `eval-${name}`, t.id),
            resume: known.filter((s) => s.loopId.startsWith(prefix)),
            onStep: saveStep,
          });
          accuracy[name] = r.accuracy;
          evalCutOff[name] = { n: r.n, cutOff: r.cutOff };
          i++;
        }
        await advance({ phase: 'done', metrics: { ...cp.metrics, accuracy, evalCutOff } });
        break;
      }
    }
  }
  return cp;
}
