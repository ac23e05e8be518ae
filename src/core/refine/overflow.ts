import type { ChatMessage } from '../engine/types.ts';
import { AppError } from '../errors.ts';
import type { Task } from '../tasks/types.ts';

/**
 * An engine's context-overflow ("the prompt has N tokens, but this model reads at most M") retold for one refine
 * step: of the characters sent, how many are the task's own text, how many the answers and feedback it quotes,
 * and how many the kind's template around them, and so what to change. A 40-character prompt whose feedback
 * template is 1,500 characters long is not the person's text being too long.
 */
export interface OverflowCall {
  kind: 'draft' | 'feedback' | 'refinement';
  messages: readonly ChatMessage[];
  /** Characters of answers and feedback the prompt quotes (0 for a draft). */
  quotedChars: number;
}

const STEP: Record<OverflowCall['kind'], string> = { draft: 'draft', feedback: 'feedback', refinement: 'refine' };

export function promptChars(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + m.content.length, 0);
}

/** The index of the longest prompt: a batched engine call names no row, so that one is explained. */
export function longestPrompt(prompts: readonly (readonly ChatMessage[])[]): number {
  let best = 0;
  for (let k = 1; k < prompts.length; k++) if (promptChars(prompts[k]) > promptChars(prompts[best])) best = k;
  return best;
}

function isOverflow(e: unknown): e is AppError {
  return e instanceof AppError && e.code === 'context-overflow';
}

export function explainOverflow(e: unknown, call: OverflowCall, task: Task): unknown {
  if (!isOverflow(e) || e.message.includes('template')) return e;
  const total = promptChars(call.messages);
  const own = Math.min(total, task.prompt.length);
  const quoted = Math.min(total - own, call.quotedChars);
  const template = total - own - quoted;
  const m = /has (\d+) tokens, but this model reads at most (\d+)/.exec(e.message);
  const size = m ? `has ${m[1]} tokens, but this model reads at most ${m[2]} (prompt and reply together)` : 'is longer than this model can read';
  const step = STEP[call.kind];
  const parts =
    `Of its ${total} characters, ${template} are the "${task.kind}" ${step} template around the task, ${own} the task's own text` +
    (quoted > 0 ? ` and ${quoted} the ${call.kind === 'feedback' ? 'answer it reviews' : 'attempts and feedback it quotes'}` : '') + '.';
  let advice: string;
  if (template >= own + quoted) {
    advice = `The template is the long part: use a model with a longer context, or a shorter ${step} template for "${task.kind}" tasks (Playground → Settings → Prompt templates).`;
  } else if (quoted > own) {
    advice = 'The quoted answers are the long part: lower the answer tokens, quote fewer attempts ("Attempts quoted in refine prompts"), or use a model with a longer context.';
  } else {
    advice = "The task's own text is the long part: shorten it, or use a model with a longer context.";
  }
  return new AppError('context-overflow', `The ${step} prompt for this task ${size}. ${parts} ${advice}`, { cause: e });
}
