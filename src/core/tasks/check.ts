import { extractFinalNumber, numbersMatch } from './numeric-answer.ts';
import { checkRules } from './rules.ts';
import type { CheckResult, Task } from './types.ts';

/** Checks a reply to a math task: the final number must equal the expected answer. Never reveals the answer. */
export function checkMathAnswer(reply: string, expected: number): CheckResult {
  const got = extractFinalNumber(reply);
  if (!got) {
    const msg = 'No final number found in the answer; end with the number on its own line, like "#### 42".';
    return { pass: false, message: msg, failures: [msg], fraction: 0 };
  }
  if (numbersMatch(got, expected)) {
    return { pass: true, message: `The final answer ${got.raw.trim()} is correct.`, failures: [], fraction: 1 };
  }
  const msg = `The final answer ${got.raw.trim()} is wrong; recheck each step of the working.`;
  return { pass: false, message: msg, failures: [msg], fraction: 0 };
}

/**
 * Checks a reply to a built-in kind of task in code: `math` by its number, `instruction` by its rules.
 * Returns null when the task has nothing to check it with (open-ended tasks, or unknown kinds: those register
 * their own checker with the kind registry in src/core/refine/kinds.ts).
 */
export function checkBuiltinTask(task: Task, reply: string): CheckResult | null {
  if (task.kind === 'math' && typeof task.answer === 'number') return checkMathAnswer(reply, task.answer);
  if (task.kind === 'instruction' && task.rules && task.rules.length > 0) return checkRules(reply, task.rules);
  return null;
}
