/**
 * The toy arithmetic world as a task kind of the app's refine registry: registered once, from the toy world's
 * own definition (src/core/toy/kind.ts: its prompts as templates, its column-check parser, and its checker,
 * which grades from the question text alone, so toy tasks need no stored answer).
 */
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { TOY_KIND, TOY_TASK_KIND } from '../../core/toy/kind.ts';

export { TOY_KIND };

/** Registers `toy-arith` with the registry unless something registered it already. */
export function ensureToyKind(registry: KindRegistry = kindRegistry): void {
  if (!registry.has(TOY_KIND)) registry.register(TOY_TASK_KIND);
}

ensureToyKind();
