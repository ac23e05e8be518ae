/**
 * The toy arithmetic world as a task kind of the refine loop: its templates (one short user message per
 * step, exactly the prompts the embedded model was trained on), its column-by-column feedback parser and its
 * checker (which grades from the question text alone, so toy tasks need no stored answer).
 */
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { checkToyDetailed, parseToyFeedback, TOY_TEMPLATE_TEXT, tryParseToyQuestion } from '../../core/toy/index.ts';

export const TOY_KIND = 'toy-arith';

/** Registers `toy-arith` with the registry unless something registered it already. */
export function ensureToyKind(registry: KindRegistry = kindRegistry): void {
  if (registry.has(TOY_KIND)) return;
  registry.register({
    kind: TOY_KIND,
    label: 'Toy arithmetic',
    templates: { ...TOY_TEMPLATE_TEXT },
    parseFeedback: (text) => {
      const p = parseToyFeedback(text);
      return { feedback: p.feedback, parseStatus: p.parseStatus };
    },
    // A prompt that is not a toy question (an edited task) cannot be checked: null, not a crash.
    check: (task, answer) => (tryParseToyQuestion(task.prompt) ? checkToyDetailed(task.prompt, answer) : null),
  });
}

ensureToyKind();
