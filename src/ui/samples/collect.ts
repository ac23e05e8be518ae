/**
 * Collecting training samples from finished runs: every loop of the chosen runs is summarised
 * (src/core/refine/samples.ts), the filter decides which loops train (score improved, final verdict
 * correct, checker pass, minimum score; by default the model's own final verdict, as SELF keeps loops — the
 * checker uses the answers, so it is never on by default), and the chosen shapes become sample rows with provenance (the
 * step ids they were built from, the run, the SELF round). Loops the filter drops can be stored too, switched
 * off, so a person can include them by hand. Samples already stored (same format and content) are skipped.
 *
 * Held-out data stays out: evaluation loops of SELF / SRT / evaluation runs never become samples, and tasks
 * of the eval split only when asked for explicitly.
 */
import { AppError } from '../../core/errors.ts';
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { buildSamples, selectLoops, summarizeLoops, type LoopSummary, type SampleFilter, type TrainingSample } from '../../core/refine/samples.ts';
import type { PreferenceRow, PromptCompletionRow, SftMessagesRow } from '../../core/train/trl.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { StudioDb } from '../../db/db.ts';
import { requireExperiment } from '../../db/experiments.ts';
import { listRuns } from '../../db/runs.ts';
import { addSamples, listSamples, type NewSample } from '../../db/samples.ts';
import { listSteps } from '../../db/steps.ts';
import { listTasks } from '../../db/tasks.ts';
import type { Run, Sample, Step } from '../../db/types.ts';
import { fromTaskRow } from '../tasks/task-rows.ts';
import { templatesResolver } from './run-templates.ts';

export type CollectShape = 'sft' | 'preference' | 'meta';

export interface CollectSettings {
  /** Runs to collect from (finished refine / batch / SELF / SRT runs). */
  runIds: readonly string[];
  filter: Required<Pick<SampleFilter, 'requireImproved' | 'requireVerdictCorrect' | 'requireOraclePass'>> & { minFinalScore: number | null };
  shapes: readonly CollectShape[];
  /** Also store samples of loops the filter drops, switched off. */
  keepDropped: boolean;
  /** Allow tasks of the eval (held-out) split. */
  includeEvalSplit: boolean;
}

export const DEFAULT_COLLECT: CollectSettings = {
  runIds: [],
  filter: { requireImproved: false, requireVerdictCorrect: true, requireOraclePass: false, minFinalScore: null },
  shapes: ['sft'],
  keepDropped: true,
  includeEvalSplit: false,
};

export interface CollectReport {
  loops: number;
  kept: number;
  /** Why loops were dropped, with counts. */
  dropped: { reason: string; count: number }[];
  added: number;
  addedIncluded: number;
  /** Samples that were stored already. */
  duplicates: number;
  /** Loops over eval-split tasks left out. */
  heldOut: number;
  /** What could not be read and was skipped or replaced: tasks with an unreadable checker, unusable stored templates. */
  problems: string[];
}

/** Nothing to train from a collection: why, and what to change (null when some loop was kept). */
export function collectEmptyReason(r: CollectReport, filter: CollectSettings['filter']): string | null {
  if (r.kept > 0) return null;
  if (r.loops === 0) return `Nothing to train: the chosen runs have no finished loops${r.heldOut ? ` outside the held-out split (${r.heldOut} held-out loops left out)` : ''}. Pick other runs, or run a batch first.`;
  const change = filter.requireVerdictCorrect
    ? 'The model\'s own feedback called none of the final answers correct: run more loops, or untick the verdict filter to keep them all (they may be wrong).'
    : 'Loosen the filter, or pick other runs.';
  return `Nothing to train: none of the ${r.loops} loops passed the filter. ${change}`;
}

/** Runs whose loops can give samples. */
export function collectableRuns(runs: readonly Run[]): Run[] {
  return runs.filter((r) => r.kind !== 'eval' && r.status !== 'running');
}

/** A key that two samples with the same content share. */
export function sampleKey(s: Pick<Sample, 'format' | 'prompt' | 'chosen' | 'rejected'>): string {
  return JSON.stringify([s.format, s.prompt.map((m) => [m.role, m.content]), s.chosen, s.rejected ?? null]);
}

/** Loops that are evaluation, not training data (SELF/SRT/eval loop ids carry "/eval-"). */
function isEvaluationLoop(loopId: string): boolean {
  return /\/eval-[^/]+\//.test(loopId);
}

/** One built sample as a row, with its step ids. */
export function toNewSample(t: TrainingSample, loop: LoopSummary & { steps: Step[] }, runId: string, included: boolean): NewSample {
  const stepIds = t.provenance.steps.map((ref) => {
    const s = (loop.steps as Step[]).find((x) => x.kind === ref.kind && x.refineRound === ref.refineRound);
    if (!s) throw new AppError('internal', `A sample refers to a step (${ref.kind} of round ${ref.refineRound}) its loop does not have.`);
    return s.id;
  });
  const feedbackOf = (round: number) => loop.steps.find((s) => s.kind === 'feedback' && s.refineRound === round)?.text ?? null;
  const provenance = { stepIds, runId, round: t.provenance.evolutionRound };
  if (t.shape === 'preference') {
    const row = t.row as PreferenceRow;
    return { format: 'dpo', prompt: row.prompt, chosen: row.chosen[0].content, rejected: row.rejected[0].content, feedback: feedbackOf(0), provenance, included };
  }
  if (t.shape === 'meta') {
    const row = t.row as PromptCompletionRow;
    const fb = t.provenance.steps.find((r) => r.kind === 'feedback');
    return { format: 'meta', prompt: row.prompt, chosen: row.completion[0].content, rejected: null, feedback: fb ? feedbackOf(fb.refineRound) : null, provenance, included };
  }
  const row = t.row as SftMessagesRow;
  return { format: 'sft', prompt: row.messages.slice(0, -1), chosen: row.messages[row.messages.length - 1].content, rejected: null, feedback: null, provenance, included };
}

export async function collectSamples(
  db: StudioDb,
  experimentId: string,
  settings: CollectSettings,
  registry: KindRegistry = kindRegistry,
): Promise<CollectReport> {
  if (settings.runIds.length === 0) throw new AppError('bad-input', 'Pick at least one finished run to collect samples from.');
  if (settings.shapes.length === 0) throw new AppError('bad-input', 'Pick at least one sample shape (SFT, preference pairs or meta-skill).');
  const m = settings.filter.minFinalScore;
  if (m !== null && !(m >= 1 && m <= 10)) throw new AppError('bad-input', `The minimum final score must be between 1 and 10, or empty (got ${m}).`);
  const experiment = await requireExperiment(db, experimentId);
  const runs = collectableRuns(await listRuns(db, experimentId)).filter((r) => settings.runIds.includes(r.id));
  if (runs.length === 0) throw new AppError('not-found', 'None of the chosen runs can give samples (they are gone, still running, or evaluations).');
  const tasks: CoreTask[] = [];
  const problems: string[] = [];
  for (const row of await listTasks(db, experimentId)) {
    try {
      tasks.push(fromTaskRow(row));
    } catch (e) {
      // A task whose stored checker is unreadable: its loops are skipped, and the report says so.
      problems.push(`${e instanceof Error ? e.message : String(e)} Its loops were skipped.`);
    }
  }
  const held = new Set(settings.includeEvalSplit ? [] : tasks.filter((t) => t.split === 'eval').map((t) => t.id));
  const usable = tasks.filter((t) => !held.has(t.id));
  const existing = new Set((await listSamples(db, experimentId)).map(sampleKey));
  const report: CollectReport = { loops: 0, kept: 0, dropped: [], added: 0, addedIncluded: 0, duplicates: 0, heldOut: 0, problems };
  const reasons = new Map<string, number>();
  const rows: NewSample[] = [];
  for (const run of runs.reverse()) {
    const steps = (await listSteps(db, run.id)).filter((s) => !isEvaluationLoop(s.loopId));
    report.heldOut += new Set(steps.filter((s) => held.has(s.taskId)).map((s) => s.loopId)).size;
    const loops = summarizeLoops(usable, steps, registry) as (LoopSummary & { steps: Step[] })[];
    const { kept, dropped } = selectLoops(loops, settings.filter);
    report.loops += loops.length;
    report.kept += kept.length;
    for (const d of dropped) reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
    const keptIds = new Set(kept.map((l) => l.loopId));
    const { resolve: templates, problems: unusable } = templatesResolver(run.config, experiment.settings, registry);
    for (const p of unusable) problems.push(`${p} The experiment's templates were used for its samples.`);
    const byLoop = new Map(loops.map((l) => [l.loopId, l]));
    const built = buildSamples(settings.keepDropped ? loops : kept, { shapes: settings.shapes, templates: (t) => templates(t.kind), registry });
    for (const t of built) {
      const row = toNewSample(t, byLoop.get(t.provenance.loopId)!, run.id, keptIds.has(t.provenance.loopId));
      const key = sampleKey({ ...row, rejected: row.rejected ?? null });
      if (existing.has(key)) {
        report.duplicates++;
        continue;
      }
      existing.add(key);
      rows.push(row);
    }
  }
  if (rows.length > 0) await addSamples(db, experimentId, rows);
  report.added = rows.length;
  report.addedIncluded = rows.filter((r) => r.included).length;
  report.dropped = [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
  return report;
}
