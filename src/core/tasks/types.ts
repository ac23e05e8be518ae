import type { Rule } from './rules.ts';

/**
 * A task: one prompt the model answers, with whatever the program knows for checking the answer.
 * Built-in kinds are `math` (numeric answer), `instruction` (rules checkable in code) and `open` (no checker);
 * other rooms add their own kinds (e.g. the toy world's `toy-arith`) through the kind registry in src/core/refine.
 */
export type BuiltInTaskKind = 'math' | 'instruction' | 'open';
export type TaskKind = BuiltInTaskKind | (string & {});

export type Split = 'train' | 'eval';

export interface Task {
  /** Stable across versions: built-in ids never change; imported ids are derived from the prompt text. */
  id: string;
  kind: TaskKind;
  prompt: string;
  split: Split;
  /** `math`: the expected number. Other kinds may store a string. */
  answer?: number | string;
  /** `instruction`: the rules the reply must follow. */
  rules?: Rule[];
  /** Free-form labels for browsing (topic, difficulty). */
  topic?: string;
  difficulty?: 1 | 2 | 3;
  source: 'builtin' | 'import';
}

/** The result of checking an answer in code. `message` never reveals the expected answer. */
export interface CheckResult {
  pass: boolean;
  /** One line a person (and a model, as oracle feedback) can act on. */
  message: string;
  /** Each problem found, one per entry; empty when `pass`. */
  failures: string[];
  /** 0..1: the share of checks passed (1 rule of 4 broken → 0.75). */
  fraction: number;
}
