/**
 * Shared helpers for the refine/loop/self/srt/eval tests: plain templates whose calls a script can tell apart,
 * a deterministic clock, and a comparison that ignores wall-clock fields.
 */
import type { ChatRequest } from '../../src/core/engine/types.ts';
import type { PromptTemplates } from '../../src/core/refine/templates.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import type { Task } from '../../src/core/tasks/types.ts';

export const PLAIN_TEMPLATES: PromptTemplates = {
  system: '',
  draft: 'DRAFT {prompt}',
  feedback: 'FEEDBACK {prompt}\nANSWER: {answer}',
  refine: 'REFINE {prompt}\n{history}',
  historyEntry: '[attempt {n}] {answer}\n[feedback {n}] {feedback}',
  metaPrompt: 'META {prompt}\nDRAFT: {answer}',
  metaCompletion: '{feedback}\nBETTER: {refinement}',
};

export type CallKind = 'draft' | 'feedback' | 'refine' | 'judge' | 'other';

/** Which kind of call a request made with PLAIN_TEMPLATES is. */
export function callKind(req: ChatRequest): CallKind {
  const user = req.messages[req.messages.length - 1].content;
  if (user.startsWith('DRAFT ')) return 'draft';
  if (user.startsWith('FEEDBACK ')) return 'feedback';
  if (user.startsWith('REFINE ')) return 'refine';
  if (user.startsWith('JUDGE')) return 'judge';
  return 'other';
}

/** The answer under review in a feedback request. */
export function answerUnderReview(req: ChatRequest): string {
  const user = req.messages[req.messages.length - 1].content;
  return user.slice(user.indexOf('ANSWER: ') + 'ANSWER: '.length);
}

/** How many attempts a refine request quotes (= the round it will write). */
export function attemptsQuoted(req: ChatRequest): number {
  return (req.messages[req.messages.length - 1].content.match(/\[attempt \d+\]/g) ?? []).length;
}

/** A clock that advances 10 ms per reading. */
export function fakeClock(start = 1_000_000): () => number {
  let t = start;
  return () => (t += 10);
}

const WALL_CLOCK = ['startedAt', 'durationMs', 'prefillTokensPerSec', 'decodeTokensPerSec'] as const;

export function withoutTimes(steps: readonly StepRecord[]): Omit<StepRecord, (typeof WALL_CLOCK)[number]>[] {
  return steps.map((s) => {
    const copy: Partial<StepRecord> = { ...s };
    for (const k of WALL_CLOCK) delete copy[k];
    return copy as Omit<StepRecord, (typeof WALL_CLOCK)[number]>;
  });
}

export function mathTask(id: string, answer: number, split: Task['split'] = 'train'): Task {
  return { id, kind: 'math', prompt: `What is the answer to problem ${id}?`, answer, split, source: 'builtin' };
}

export function openTask(id: string, split: Task['split'] = 'train'): Task {
  return { id, kind: 'open', prompt: `Tell me about ${id}.`, split, source: 'builtin' };
}
