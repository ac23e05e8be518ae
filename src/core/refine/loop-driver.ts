import type { ChatEngine, ChatMessage, ChatResult, GenerationParams } from '../engine/types.ts';
import { AppError } from '../errors.ts';
import type { CheckResult, Task } from '../tasks/types.ts';
import { paramsFor, type TaskParams } from './budgets.ts';
import type { FeedbackParse } from './feedback-parse.ts';
import { kindRegistry, type KindRegistry } from './kinds.ts';
import { normalizeOracleMode, ORACLE_MODEL_ID, oracleFeedback, oracleText, type OracleMode } from './oracle.ts';
import { planNext, validateStopRules, type NextAction, type StopReason, type StopRules } from './plan.ts';
import { clip, draftMessages, feedbackMessages, refineMessages, type Attempt } from './prompts.ts';
import type { PromptTemplates } from './templates.ts';
import type { StepRecord } from './types.ts';

/** Settings shared by a single loop and a batch of loops. */
export interface LoopSettings {
  /** The actor: writes drafts and (by default) refinements, and its own feedback when there is no critic. */
  engine: ChatEngine;
  /** A separate critic for feedback (source 'critic'). */
  critic?: ChatEngine;
  /** Who writes refinements when there is a critic: 'actor' (Self-Refine, default) or 'critic' (SRT data). */
  refiner?: 'actor' | 'critic';
  /**
   * The program's checker as a labelled feedback source: 'accompany' (true) adds it after the model's
   * feedback; 'replace' uses it instead of model feedback. Ignored ('accompany') or refused ('replace') for
   * tasks that cannot be checked.
   */
  oracle?: boolean | OracleMode;
  /** Templates, or a choice per task (mixed task kinds). Default: the kind registry's templates. */
  templates?: PromptTemplates | ((task: Task) => PromptTemplates);
  /** Sampling for answers (draft, and refinement unless `refineParams`), or a choice per task. */
  params?: TaskParams;
  /** Sampling for feedback calls; default `params`. */
  feedbackParams?: TaskParams;
  /** Sampling for refinements; default `params`. */
  refineParams?: TaskParams;
  stop: StopRules;
  /** Actor adapter (tfjs engine), or null for the base model. */
  adapterId?: string | null;
  criticAdapterId?: string | null;
  /** SELF round written on every step; default 0. */
  evolutionRound?: number;
  registry?: KindRegistry;
  /** Attempts quoted in the refine prompt (most recent kept); default all. */
  historyLimit?: number;
  signal?: AbortSignal;
  /** Wall clock for startedAt/durationMs; default Date.now. */
  now?: () => number;
}

/** A call about to be made: what the step-through gate and onToken are told. */
export interface PendingCall {
  loopId: string;
  taskId: string;
  kind: 'draft' | 'feedback' | 'refinement';
  refineRound: number;
  role: 'actor' | 'critic';
  messages: ChatMessage[];
}

export interface PreparedCall extends PendingCall {
  engine: ChatEngine;
  params: GenerationParams;
  adapterId: string | null;
  /** Characters of answers and feedback the prompt quotes (to tell a long template from a long answer). */
  quotedChars: number;
}

export interface LoopResult {
  loopId: string;
  taskId: string;
  finalAnswer: string;
  stopReason: StopReason;
  /** Refinements made (the refineRound of the final answer). */
  rounds: number;
  /** Score of the final answer's model feedback (for 'unchanged', the equal answer's); null when none. */
  finalScore: number | null;
  /** The oracle's verdict on the final answer when the oracle ran on it, else null. */
  finalOraclePass: boolean | null;
  /** Every step of this loop, resumed ones included, in order. */
  steps: StepRecord[];
}

const KIND_RANK: Record<string, number> = { draft: 0, refinement: 0, feedback: 1, oracle: 2 };

/** The state of one loop over one task: plans, builds calls and turns results into StepRecords. */
export class LoopDriver {
  readonly steps: StepRecord[];
  readonly task: Task;
  readonly loopId: string;
  private readonly s: LoopSettings;
  private readonly templates: PromptTemplates;
  private readonly parse: (text: string) => FeedbackParse;
  private readonly reviewView: (answer: string) => string;
  private readonly check: ((answer: string) => CheckResult | null) | null;
  private readonly oracle: OracleMode;

  constructor(task: Task, loopId: string, settings: LoopSettings, resumeFrom: readonly StepRecord[] = []) {
    this.task = task;
    this.loopId = loopId;
    this.s = settings;
    validateStopRules(settings.stop);
    const registry = settings.registry ?? kindRegistry;
    const t = settings.templates;
    this.templates = t === undefined ? registry.templates(task.kind) : typeof t === 'function' ? t(task) : t;
    this.parse = registry.parser(task.kind);
    this.reviewView = registry.reviewView(task.kind);
    this.check = registry.checker(task);
    const mode = normalizeOracleMode(settings.oracle);
    const checkable = this.check !== null && this.check('') !== null;
    if (mode === 'replace' && !checkable) {
      throw new AppError(
        'bad-input',
        `Task ${task.id} (${task.kind}) has no checker, so the oracle cannot replace model feedback. Use model feedback, or "accompany".`,
      );
    }
    this.oracle = checkable ? mode : 'off';
    if (settings.refiner === 'critic' && !settings.critic) {
      throw new AppError('bad-input', 'Refinements by the critic need a critic engine; choose one or let the actor refine.');
    }
    for (const [role, e] of [['actor', settings.engine], ['critic', settings.critic]] as const) {
      if (e && e.modelId === null) throw new AppError('bad-input', `The ${role} engine has no model loaded. Load a model first.`);
    }
    for (const st of resumeFrom) {
      if (st.loopId !== loopId || st.taskId !== task.id) {
        throw new AppError(
          'bad-input',
          `Cannot resume loop ${loopId} of task ${task.id} from a step of loop ${st.loopId} (task ${st.taskId}).`,
        );
      }
    }
    // Canonical order: by round, then answer → feedback → oracle (storage may return rows in any order).
    this.steps = resumeFrom
      .filter((st) => st.kind in KIND_RANK)
      .map((st, i) => ({ st, i }))
      .sort((a, b) => a.st.refineRound - b.st.refineRound || KIND_RANK[a.st.kind] - KIND_RANK[b.st.kind] || a.i - b.i)
      .map(({ st }) => st);
    // Fail now, not halfway, if the stored steps do not fit these settings.
    planNext(this.steps, this.planConfig());
  }

  private planConfig() {
    return { stop: this.s.stop, oracle: this.oracle };
  }

  next(): NextAction {
    return planNext(this.steps, this.planConfig());
  }

  push(step: StepRecord): void {
    this.steps.push(step);
  }

  private answers(): StepRecord[] {
    return this.steps.filter((s) => s.kind === 'draft' || s.kind === 'refinement');
  }

  /** The feedback text an attempt got, as quoted in the refine prompt (model feedback and oracle, labelled). */
  feedbackTextFor(round: number): string {
    const fb = this.steps.find((s) => s.kind === 'feedback' && s.refineRound === round);
    const or = this.steps.find((s) => s.kind === 'oracle' && s.refineRound === round);
    if (fb && or) return `${clip(fb.text)}\n\n${or.text}`;
    return fb ? clip(fb.text) : or ? or.text : '';
  }

  private attempts(): Attempt[] {
    return this.answers().map((a) => ({ answer: a.text, feedback: this.feedbackTextFor(a.refineRound) }));
  }

  /** Builds the call for an answer or feedback action. */
  prepare(action: Extract<NextAction, { type: 'answer' | 'feedback' }>): PreparedCall {
    const s = this.s;
    const t = this.templates;
    const base = { loopId: this.loopId, taskId: this.task.id, refineRound: action.refineRound };
    if (action.type === 'feedback') {
      const answer = this.answers().find((a) => a.refineRound === action.refineRound);
      if (!answer) throw new AppError('internal', `No answer to give feedback on in round ${action.refineRound}.`);
      const useCritic = !!s.critic;
      return {
        ...base,
        kind: 'feedback',
        role: useCritic ? 'critic' : 'actor',
        engine: useCritic ? s.critic! : s.engine,
        params: paramsFor(s.feedbackParams ?? s.params, this.task),
        adapterId: useCritic ? (s.criticAdapterId ?? null) : (s.adapterId ?? null),
        messages: feedbackMessages(t, this.task.prompt, this.reviewView(answer.text)),
        quotedChars: answer.text.length,
      };
    }
    const byCritic = action.kind === 'refinement' && s.refiner === 'critic';
    const attempts = action.kind === 'draft' ? [] : this.attempts();
    const quoted = s.historyLimit ? attempts.slice(-s.historyLimit) : attempts;
    return {
      ...base,
      kind: action.kind,
      role: byCritic ? 'critic' : 'actor',
      engine: byCritic ? s.critic! : s.engine,
      params: paramsFor(action.kind === 'refinement' ? (s.refineParams ?? s.params) : s.params, this.task),
      adapterId: byCritic ? (s.criticAdapterId ?? null) : (s.adapterId ?? null),
      messages: action.kind === 'draft' ? draftMessages(t, this.task.prompt) : refineMessages(t, this.task.prompt, attempts, this.s.historyLimit),
      quotedChars: quoted.reduce((n, a) => n + a.answer.length + a.feedback.length, 0),
    };
  }

  /** The StepRecord for a finished engine call. */
  record(call: PreparedCall, result: ChatResult, startedAt: number, durationMs: number): StepRecord {
    const common = {
      taskId: this.task.id,
      loopId: this.loopId,
      evolutionRound: this.s.evolutionRound ?? 0,
      refineRound: call.refineRound,
      text: result.text,
      prompt: call.messages,
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      finishReason: result.finishReason === 'length' ? ('length' as const) : ('stop' as const),
      startedAt,
      durationMs,
      prefillTokensPerSec: result.usage.prefillTokensPerSec,
      decodeTokensPerSec: result.usage.decodeTokensPerSec,
      seed: call.params.seed ?? null,
      engine: call.engine.kind,
      modelId: call.engine.modelId ?? 'unknown',
      adapterId: call.adapterId,
      source: call.role === 'critic' ? ('critic' as const) : ('self' as const),
    };
    if (call.kind === 'feedback') {
      const parsed = this.parse(result.text);
      return { ...common, kind: 'feedback', feedback: parsed.feedback, parseStatus: parsed.parseStatus, score: parsed.feedback?.score ?? null };
    }
    return { ...common, kind: call.kind, feedback: null, parseStatus: 'n/a', score: null };
  }

  /** Runs the checker on the answer of `round` and returns the labelled oracle step. */
  oracleStep(round: number, startedAt: number): StepRecord {
    const answer = this.answers().find((a) => a.refineRound === round);
    const r = answer && this.check ? this.check(answer.text) : null;
    if (!answer || !r) throw new AppError('internal', `No checkable answer for the oracle in round ${round}.`);
    const feedback = oracleFeedback(r);
    return {
      kind: 'oracle',
      taskId: this.task.id,
      loopId: this.loopId,
      evolutionRound: this.s.evolutionRound ?? 0,
      refineRound: round,
      text: oracleText(r),
      prompt: [],
      feedback,
      parseStatus: 'ok',
      score: feedback.score,
      promptTokens: 0,
      completionTokens: 0,
      startedAt,
      durationMs: 0,
      prefillTokensPerSec: 0,
      decodeTokensPerSec: 0,
      seed: null,
      engine: 'oracle',
      modelId: ORACLE_MODEL_ID,
      adapterId: null,
      source: 'oracle',
    };
  }

  result(stopReason: StopReason): LoopResult {
    const answers = this.answers();
    const final = answers[answers.length - 1];
    const round = final?.refineRound ?? 0;
    // A final answer that stopped as 'unchanged' has no feedback of its own: the equal answer before it does.
    let fbRound = round;
    if (stopReason === 'unchanged' && round > 0) fbRound = round - 1;
    const fb = this.steps.find((s) => s.kind === 'feedback' && s.refineRound === fbRound);
    const or = this.steps.find((s) => s.kind === 'oracle' && s.refineRound === fbRound);
    return {
      loopId: this.loopId,
      taskId: this.task.id,
      finalAnswer: final?.text ?? '',
      stopReason,
      rounds: round,
      finalScore: fb?.score ?? null,
      finalOraclePass: or ? or.feedback?.verdict === 'correct' : null,
      steps: [...this.steps],
    };
  }
}
