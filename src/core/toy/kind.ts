/**
 * The toy world as a task kind of the refine registry (`toy-arith`): its prompts as templates, its token
 * budgets (those of its own evaluation and SELF experiment), its feedback parser and its checker, plus toy
 * questions as refine Tasks. Register it with `registry.register(TOY_TASK_KIND)`; `toyKindRegistry()` is a
 * registry holding the built-in kinds and this one.
 */
import { createKindRegistry, type KindRegistry, type TaskKindInput } from '../refine/kinds.ts';
import type { Split, Task } from '../tasks/types.ts';
import type { SftMessagesRow } from '../train/trl.ts';
import { checkToyDetailed } from './check.ts';
import { toyMetaSkillRows } from './meta-mix.ts';
import { TOY_MAX_TOKENS } from './evaluate.ts';
import { parseToyFeedback } from './parse-feedback.ts';
import { TOY_TEMPLATE_TEXT } from './prompts.ts';
import { toyCriticView } from './stated-answer.ts';
import type { ToyQuestion } from './question.ts';
import { tryParseToyQuestion } from './question.ts';

export const TOY_KIND = 'toy-arith';

export const TOY_TASK_KIND: TaskKindInput = {
  kind: TOY_KIND,
  label: 'Toy arithmetic (column check)',
  templates: TOY_TEMPLATE_TEXT,
  // A working is ≤ 5 lines of ≤ 16 tokens and a column check ≤ ~130 tokens; the model ends its turn itself.
  generation: { draftTokens: TOY_MAX_TOKENS.draft, feedbackTokens: TOY_MAX_TOKENS.feedback, refineTokens: TOY_MAX_TOKENS.refine, stop: [] },
  parseFeedback: (text) => {
    const { parseStatus, feedback } = parseToyFeedback(text);
    return { parseStatus, feedback };
  },
  // A task whose prompt is not a toy question cannot be checked (null), rather than failing the loop.
  check: (task, answer) => (tryParseToyQuestion(task.prompt) ? checkToyDetailed(task.prompt, answer) : null),
  metaSkillRows: toyMetaSkillRows,
  reviewView: toyCriticView,
};

/** `extraMetaRows` are added to every round's meta-skill mix (e.g. the critic's misses, critic-miss-mix.ts). */
export function toyKindRegistry(extraMetaRows: readonly SftMessagesRow[] = []): KindRegistry {
  const r = createKindRegistry();
  r.register(extraMetaRows.length === 0 ? TOY_TASK_KIND : { ...TOY_TASK_KIND, metaSkillRows: (mix, round) => [...toyMetaSkillRows(mix, round), ...extraMetaRows] });
  return r;
}

/** Toy questions as tasks; ids are the question text, so they are stable across runs and seeds. */
export function toyTasks(questions: readonly ToyQuestion[], split: Split): Task[] {
  return questions.map((q) => ({ id: `toy:${q.text}`, kind: TOY_KIND, prompt: q.text, split, source: 'builtin' as const }));
}
