import type { Task } from '../tasks/types.ts';
import { shortHash } from '../tasks/split.ts';
import { kindRegistry, type KindRegistry } from './kinds.ts';
import { loopSteps, sameAnswer } from './plan.ts';
import { clip, draftMessages, metaSkillMessages, refineMessages } from './prompts.ts';
import type { PromptTemplates } from './templates.ts';
import type { Provenance, PreferenceRow, PromptCompletionRow, SftMessagesRow, TrlRow } from '../train/trl.ts';
import type { StepRecord, Verdict } from './types.ts';

/**
 * Training samples from finished loops. A loop is summarised (first and final answer, their scores, the
 * checker's verdicts, whether it improved), filtered, and turned into TRL rows:
 *   'sft'               prompt → final answer, as {"messages"}
 *   'prompt-completion' prompt → final answer, as {"prompt", "completion"}
 *   'meta'              prompt + an answer → its feedback then the next answer (the meta-skill SELF and SRT
 *                       train), one row per refinement that changed the answer
 *   'step-chats'        the same meta-skill in the loop's own two calls, as {"messages"}: each feedback call that
 *                       led to a refinement that changed the answer, that refinement call, and the feedback call on
 *                       the final answer, each exactly as sent (StepRecord.prompt) → what came back
 *   'refine-only'       prompt + an answer → the next answer, with no feedback (SRT's ablation): the refine call
 *                       with the feedback text left empty, one row per refinement that changed the answer
 *   'preference'        {"prompt", "chosen": final, "rejected": first} when the loop improved the answer
 * Each sample keeps its provenance; identical rows are kept once.
 */
export interface LoopSummary {
  loopId: string;
  task: Task;
  evolutionRound: number;
  /** Loop steps in order. */
  steps: StepRecord[];
  draft: StepRecord;
  final: StepRecord;
  /** Score the first feedback gave the draft (model or critic), or null. */
  initialScore: number | null;
  /** Score of the latest feedback on the final answer's text, or null. */
  finalScore: number | null;
  /** The model's (or critic's) verdict on the final answer. */
  finalVerdict: Verdict;
  /** The checker on the draft / the final answer; null when the task cannot be checked. */
  initialPass: boolean | null;
  finalPass: boolean | null;
  /** The final answer differs from the draft. */
  changed: boolean;
  /** Fail → pass by the checker; otherwise, a higher final score. */
  improved: boolean;
}

function answersOf(steps: readonly StepRecord[]): StepRecord[] {
  return steps.filter((s) => s.kind === 'draft' || s.kind === 'refinement');
}

/** The model/critic feedback for the answer of a round. */
function feedbackFor(steps: readonly StepRecord[], round: number): StepRecord | undefined {
  return steps.find((s) => s.kind === 'feedback' && s.refineRound === round);
}

/** Summarises one loop's steps; null when there is no draft yet. */
export function summarizeLoop(task: Task, steps: readonly StepRecord[], registry: KindRegistry = kindRegistry): LoopSummary | null {
  const own = loopSteps(steps).sort((a, b) => a.refineRound - b.refineRound);
  const answers = answersOf(own);
  const draft = answers.find((s) => s.kind === 'draft');
  if (!draft) return null;
  const final = answers[answers.length - 1];
  // The final answer's feedback: its own, or (when it stopped as 'unchanged') that of the equal answer before.
  let finalFb: StepRecord | undefined;
  for (let i = answers.length - 1; i >= 0 && !finalFb; i--) {
    if (!sameAnswer(answers[i].text, final.text)) break;
    finalFb = feedbackFor(own, answers[i].refineRound);
  }
  const check = registry.checker(task);
  const passOf = (text: string) => {
    const r = check ? check(text) : null;
    return r ? r.pass : null;
  };
  const initialScore = feedbackFor(own, 0)?.score ?? null;
  const finalScore = finalFb?.score ?? null;
  const initialPass = passOf(draft.text);
  const finalPass = passOf(final.text);
  const changed = !sameAnswer(draft.text, final.text);
  const improved =
    initialPass !== null && finalPass !== null && initialPass !== finalPass
      ? finalPass
      : changed && initialScore !== null && finalScore !== null && finalScore > initialScore;
  return {
    loopId: draft.loopId,
    task,
    evolutionRound: draft.evolutionRound,
    steps: own,
    draft,
    final,
    initialScore,
    finalScore,
    finalVerdict: finalFb?.feedback?.verdict ?? 'unknown',
    initialPass,
    finalPass,
    changed,
    improved,
  };
}

/** Groups stored steps by loop and summarises each (steps of unknown tasks are skipped). */
export function summarizeLoops(
  tasks: readonly Task[],
  steps: readonly StepRecord[],
  registry: KindRegistry = kindRegistry,
): LoopSummary[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const groups = new Map<string, StepRecord[]>();
  for (const s of steps) {
    if (!byId.has(s.taskId)) continue;
    const g = groups.get(s.loopId);
    if (g) g.push(s);
    else groups.set(s.loopId, [s]);
  }
  const out: LoopSummary[] = [];
  for (const g of groups.values()) {
    const sum = summarizeLoop(byId.get(g[0].taskId)!, g, registry);
    if (sum) out.push(sum);
  }
  return out;
}

export interface SampleFilter {
  /** Keep only loops whose answer improved (checker fail → pass, or a higher score). */
  requireImproved?: boolean;
  /** Keep only loops whose final feedback says 'correct'. */
  requireVerdictCorrect?: boolean;
  /** Keep only loops whose final answer passes the checker (loops of uncheckable tasks are dropped). */
  requireOraclePass?: boolean;
  /** Keep only loops whose final score is at least this. */
  minFinalScore?: number | null;
  /** Manual choices by loop id: 'include' keeps a loop whatever the filters say; 'exclude' always drops it. */
  manual?: Readonly<Record<string, 'include' | 'exclude'>>;
}

export interface Selection {
  kept: LoopSummary[];
  dropped: { loopId: string; reason: string }[];
}

/** Applies the filter; every dropped loop says why. */
export function selectLoops(loops: readonly LoopSummary[], filter: SampleFilter = {}): Selection {
  const kept: LoopSummary[] = [];
  const dropped: Selection['dropped'] = [];
  for (const l of loops) {
    const manual = filter.manual?.[l.loopId];
    let reason: string | null = null;
    if (manual === 'exclude') reason = 'excluded by hand';
    else if (manual !== 'include') {
      if (filter.requireImproved && !l.improved) reason = 'did not improve';
      else if (filter.requireVerdictCorrect && l.finalVerdict !== 'correct') reason = 'the final feedback does not say "correct"';
      else if (filter.requireOraclePass && l.finalPass !== true) {
        reason = l.finalPass === null ? 'task has no checker' : 'final answer fails the check';
      } else if (filter.minFinalScore != null && (l.finalScore === null || l.finalScore < filter.minFinalScore)) {
        reason = `final score ${l.finalScore ?? 'none'} is below ${filter.minFinalScore}`;
      }
    }
    if (reason) dropped.push({ loopId: l.loopId, reason });
    else kept.push(l);
  }
  return { kept, dropped };
}

export type SampleShape = 'sft' | 'prompt-completion' | 'meta' | 'step-chats' | 'refine-only' | 'preference';

export interface TrainingSample<R extends TrlRow = TrlRow> {
  shape: SampleShape;
  row: R;
  provenance: Provenance;
  /** Content hash used for dedupe. */
  key: string;
}

export interface BuildOptions {
  shapes: readonly SampleShape[];
  /** Templates for the prompts (the draft prompt, the meta-skill pair). Default: the kind registry's. */
  templates?: PromptTemplates | ((task: Task) => PromptTemplates);
  registry?: KindRegistry;
  /** Loops kept by hand; they give preference pairs even without measured improvement. */
  manualInclude?: ReadonlySet<string>;
}

function ref(s: StepRecord) {
  return { kind: s.kind, refineRound: s.refineRound };
}

function answerMessage(text: string) {
  return [{ role: 'assistant' as const, content: text.trim() }];
}

/**
 * The steps a 'step-chats' sample is made of: for each refinement that changed the answer, the feedback it
 * answered and the refinement itself; then the feedback on the final answer (the check that let it through).
 * None when the answer never changed. Steps without a stored prompt or text are skipped.
 */
function stepChatSteps(l: LoopSummary): StepRecord[] {
  const answers = answersOf(l.steps);
  const out: StepRecord[] = [];
  for (let i = 0; i + 1 < answers.length; i++) {
    const fb = feedbackFor(l.steps, answers[i].refineRound);
    if (!fb || sameAnswer(answers[i].text, answers[i + 1].text)) continue;
    out.push(fb, answers[i + 1]);
  }
  const last = feedbackFor(l.steps, l.final.refineRound);
  if (out.length > 0 && last) out.push(last);
  return out.filter((s) => s.prompt.length > 0 && s.text.trim() !== '');
}

/** Builds the samples of the chosen shapes from kept loops, deduplicated (first occurrence wins). */
export function buildSamples(loops: readonly LoopSummary[], options: BuildOptions): TrainingSample[] {
  const registry = options.registry ?? kindRegistry;
  const out: TrainingSample[] = [];
  const seen = new Set<string>();
  const push = (shape: SampleShape, row: TrlRow, l: LoopSummary, from: StepRecord[]) => {
    const key = `${shape}:${shortHash(JSON.stringify(row))}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({
      shape,
      row,
      key,
      provenance: { loopId: l.loopId, taskId: l.task.id, evolutionRound: l.evolutionRound, steps: from.map(ref) },
    });
  };
  for (const l of loops) {
    const t = options.templates;
    const templates = t === undefined ? registry.templates(l.task.kind) : typeof t === 'function' ? t(l.task) : t;
    const prompt = draftMessages(templates, l.task.prompt);
    if (l.final.text.trim() === '') continue;
    for (const shape of options.shapes) {
      if (shape === 'sft') {
        const row: SftMessagesRow = { messages: [...prompt, ...answerMessage(l.final.text)] };
        push(shape, row, l, [l.final]);
      } else if (shape === 'prompt-completion') {
        const row: PromptCompletionRow = { prompt, completion: answerMessage(l.final.text) };
        push(shape, row, l, [l.final]);
      } else if (shape === 'preference') {
        if (!l.changed || !(l.improved || options.manualInclude?.has(l.loopId))) continue;
        const row: PreferenceRow = { prompt, chosen: answerMessage(l.final.text), rejected: answerMessage(l.draft.text) };
        push(shape, row, l, [l.final, l.draft]);
      } else if (shape === 'step-chats') {
        for (const step of stepChatSteps(l)) {
          push(shape, { messages: [...step.prompt.map(({ role, content }) => ({ role, content })), ...answerMessage(step.text)] }, l, [step]);
        }
      } else if (shape === 'refine-only') {
        const answers = answersOf(l.steps);
        for (let i = 0; i + 1 < answers.length; i++) {
          const [before, after] = [answers[i], answers[i + 1]];
          if (sameAnswer(before.text, after.text) || after.text.trim() === '') continue;
          const row: SftMessagesRow = { messages: [...refineMessages(templates, l.task.prompt, [{ answer: before.text, feedback: '' }]), ...answerMessage(after.text)] };
          push(shape, row, l, [before, after]);
        }
      } else {
        const answers = answersOf(l.steps);
        for (let i = 0; i + 1 < answers.length; i++) {
          const before = answers[i];
          const after = answers[i + 1];
          const fb = feedbackFor(l.steps, before.refineRound);
          if (!fb || fb.text.trim() === '' || sameAnswer(before.text, after.text)) continue;
          const m = metaSkillMessages(templates, l.task.prompt, before.text, clip(fb.text), after.text);
          push(shape, { prompt: m.prompt, completion: m.completion }, l, [before, fb, after]);
        }
      }
    }
  }
  return out;
}
