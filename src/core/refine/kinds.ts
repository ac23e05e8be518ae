import { checkBuiltinTask } from '../tasks/check.ts';
import type { CheckResult, Task, TaskKind } from '../tasks/types.ts';
import type { SftMessagesRow } from '../train/trl.ts';
import { AppError } from '../errors.ts';
import { parseFeedback, type FeedbackParse } from './feedback-parse.ts';
import {
  completeTemplates,
  INSTRUCTION_TEMPLATES,
  MATH_TEMPLATES,
  OPEN_TEMPLATES,
  type PromptTemplates,
  type TemplateInput,
} from './templates.ts';

/**
 * What a kind's answers need from generation: the longest reply each step writes, in tokens, and the strings
 * that end a reply. Every tab takes its token budgets from here unless the person sets a number (see
 * budgets.ts), so a kind whose working is long is never cut off by a budget sized for another kind.
 */
export interface KindGeneration {
  /** The first answer. */
  draftTokens: number;
  /** A critique of an answer. */
  feedbackTokens: number;
  /** A rewritten answer. */
  refineTokens: number;
  /** Generation stops before any of these on every step (none: chat models end their turn themselves). */
  stop: readonly string[];
}

/** Budgets for kinds that register none: room for a few paragraphs. */
export const GENERIC_GENERATION: KindGeneration = { draftTokens: 256, feedbackTokens: 256, refineTokens: 256, stop: [] };

/**
 * What the refine loop needs to know about a kind of task: its default prompt templates, what its answers need
 * from generation, how to read a critique, and (for verifiable kinds) how to check an answer in code. Built-in
 * kinds are registered here; other rooms register theirs (the toy world's `toy-arith`) with
 * `registry.register(...)`.
 */
export interface TaskKindSpec {
  kind: TaskKind;
  /** Shown in pickers. */
  label: string;
  templates: PromptTemplates;
  generation: KindGeneration;
  /** Default: the generic parseFeedback. */
  parseFeedback?: (text: string) => FeedbackParse;
  /** For verifiable kinds; null from it = this task cannot be checked. */
  check?: (task: Task, answer: string) => CheckResult | null;
  /**
   * The kind's own meta-skill corpus, when it has one (the toy world's annotator): `feedback` feedback chats
   * and `refine` refine chats on fresh questions for SELF round `round`, which SELF mixes into that round's
   * training (`SelfOptions.metaMix`). Never a question of the train or eval split.
   */
  metaSkillRows?: (mix: MetaMix, round: number) => SftMessagesRow[];
  /**
   * What the feedback prompt shows of the answer under review (default: the answer itself). The toy world
   * shows only the stated answer, digit by place, so its critic checks the number against its own working
   * instead of copying the draft's (see toy/README.md, section 9).
   */
  reviewView?: (answer: string) => string;
}

/** How many annotator meta-skill chats a SELF round mixes in, and the corpus seed. */
export interface MetaMix {
  feedback: number;
  refine: number;
  seed: number;
}

/** What `register` takes: templates may leave out system, historyEntry and the meta-skill pair; generation defaults to GENERIC_GENERATION. */
export type TaskKindInput = Omit<TaskKindSpec, 'templates' | 'generation'> & { templates: TemplateInput; generation?: KindGeneration };

function checkGeneration(kind: string, g: KindGeneration): KindGeneration {
  for (const k of ['draftTokens', 'feedbackTokens', 'refineTokens'] as const) {
    if (!Number.isInteger(g[k]) || g[k] < 1 || g[k] > 8192) throw new AppError('bad-input', `Task kind "${kind}": ${k} must be a whole number from 1 to 8192 (got ${g[k]}).`);
  }
  if (!Array.isArray(g.stop) || g.stop.some((x) => typeof x !== 'string' || x === '')) throw new AppError('bad-input', `Task kind "${kind}": stop strings must be non-empty texts.`);
  return { draftTokens: g.draftTokens, feedbackTokens: g.feedbackTokens, refineTokens: g.refineTokens, stop: [...g.stop] };
}

export class KindRegistry {
  private readonly specs = new Map<string, TaskKindSpec>();

  /** Adds (or replaces) a kind. Throws AppError('bad-input') when its templates cannot work. */
  register(input: TaskKindInput): void {
    if (!input.kind || typeof input.kind !== 'string') throw new AppError('bad-input', 'A task kind needs a name.');
    const generation = checkGeneration(input.kind, input.generation ?? GENERIC_GENERATION);
    this.specs.set(input.kind, { ...input, templates: completeTemplates(input.templates), generation });
  }

  has(kind: TaskKind): boolean {
    return this.specs.has(kind);
  }

  get(kind: TaskKind): TaskKindSpec {
    const spec = this.specs.get(kind);
    if (!spec) {
      throw new AppError(
        'bad-input',
        `No templates are registered for tasks of kind "${kind}". Known kinds: ${[...this.specs.keys()].join(', ')}.`,
      );
    }
    return spec;
  }

  kinds(): TaskKindSpec[] {
    return [...this.specs.values()];
  }

  templates(kind: TaskKind): PromptTemplates {
    return this.get(kind).templates;
  }

  /** What the kind's answers need from generation (GENERIC_GENERATION for a kind nobody registered). */
  generation(kind: TaskKind): KindGeneration {
    return this.specs.get(kind)?.generation ?? GENERIC_GENERATION;
  }

  parser(kind: TaskKind): (text: string) => FeedbackParse {
    return this.specs.get(kind)?.parseFeedback ?? parseFeedback;
  }

  /** What the feedback prompt quotes of an answer of this kind. */
  reviewView(kind: TaskKind): (answer: string) => string {
    return this.specs.get(kind)?.reviewView ?? ((answer) => answer);
  }

  /** The checker for a task, or null when its kind has none (open-ended). */
  checker(task: Task): ((answer: string) => CheckResult | null) | null {
    const check = this.specs.get(task.kind)?.check;
    return check ? (answer) => check(task, answer) : null;
  }

  /** Whether this particular task can be checked in code. */
  isVerifiable(task: Task): boolean {
    const check = this.specs.get(task.kind)?.check;
    return !!check && check(task, '') !== null;
  }
}

/** A registry holding the built-in kinds (math, instruction, open). */
export function createKindRegistry(): KindRegistry {
  const r = new KindRegistry();
  r.register({ kind: 'math', label: 'Math word problem', templates: MATH_TEMPLATES, check: checkBuiltinTask });
  r.register({ kind: 'instruction', label: 'Instruction following', templates: INSTRUCTION_TEMPLATES, check: checkBuiltinTask });
  r.register({ kind: 'open', label: 'Open-ended', templates: OPEN_TEMPLATES });
  return r;
}

/** The app-wide registry. Tests make their own with createKindRegistry(). */
export const kindRegistry: KindRegistry = createKindRegistry();
