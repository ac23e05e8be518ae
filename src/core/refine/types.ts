import type { ChatMessage, EngineKind } from '../engine/types.ts';

/**
 * One stored step of a self-refinement run: a draft, a feedback, a refinement, an oracle check or an
 * evaluation answer. Written to IndexedDB the moment it completes (src/db stores it as a row with ids).
 */
export type StepKind = 'draft' | 'feedback' | 'refinement' | 'oracle' | 'evaluation';

export type Verdict = 'correct' | 'incorrect' | 'unknown';

/** Structured feedback, as parsed from a model's critique (or produced by an oracle check). */
export interface ParsedFeedback {
  weaknesses: string[];
  suggestions: string[];
  /** 1–10, or null when the critique gave none. */
  score: number | null;
  verdict: Verdict;
  /** True when the feedback says nothing needs fixing. */
  noIssues: boolean;
}

export interface StepRecord {
  kind: StepKind;
  taskId: string;
  /** Groups the steps of one loop over one task (a run has many loops). */
  loopId: string;
  /** SELF round; 0 before any training. */
  evolutionRound: number;
  /** 0 for the draft and its feedback, 1 for the first refinement and its feedback, ... */
  refineRound: number;
  /** The raw model output (or the oracle's message). */
  text: string;
  /** Exactly what was sent to the engine. Empty for oracle steps. */
  prompt: ChatMessage[];
  /** Set on feedback and oracle steps; null when the output could not be parsed (see parseStatus). */
  feedback: ParsedFeedback | null;
  parseStatus: 'ok' | 'partial' | 'unparsed' | 'n/a';
  /** Parsed score (copied from feedback for indexing), or a checker's 0/1 for evaluation steps. */
  score: number | null;
  promptTokens: number;
  completionTokens: number;
  /**
   * Why the engine stopped: 'length' = cut off by the token limit. Absent on oracle steps, on evaluation steps
   * of refined answers before this was recorded, and on steps stored before it was.
   */
  finishReason?: 'stop' | 'length';
  startedAt: number;
  durationMs: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  seed: number | null;
  engine: EngineKind | 'oracle';
  modelId: string;
  adapterId: string | null;
  /** Which feedback source: the model itself, a separate critic, or the program's checker. */
  source: 'self' | 'critic' | 'oracle';
}
