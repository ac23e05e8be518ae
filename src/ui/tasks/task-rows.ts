/**
 * Core tasks (src/core/tasks: what the loop and the checkers read) ↔ stored task rows (src/db: what
 * IndexedDB keeps). The one place that knows how an answer and rules are written into a row:
 *   math         reference = the number as text ("42", "3.5"), checker = null
 *   instruction  reference = null, checker = { rules: Rule[] }
 *   open         reference = null, checker = null
 *   toy-arith    reference = null, checker = null (the toy checker grades from the question itself)
 * Rows come from storage and bundles, so reading them back validates again (a bad rule is reported, not run).
 */
import { AppError } from '../../core/errors.ts';
import { parseNumberText } from '../../core/tasks/numeric-answer.ts';
import { parseRule, type Rule } from '../../core/tasks/rules.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { NewTask } from '../../db/tasks.ts';
import type { JsonObject, Task as TaskRow } from '../../db/types.ts';

/** A core task as a new row of the given task set (ids are made by the database). */
export function toNewTask(task: CoreTask, taskSetId: string): NewTask {
  let reference: string | null = null;
  let checker: JsonObject | null = null;
  if (task.answer !== undefined) reference = String(task.answer);
  if (task.rules && task.rules.length > 0) checker = { rules: task.rules.map((r) => ({ ...r })) };
  return { prompt: task.prompt, kind: task.kind, split: task.split, taskSetId, reference, checker };
}

function rulesOf(row: TaskRow): Rule[] | undefined {
  const raw = row.checker?.rules;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    throw new AppError('bad-input', `Task "${clipped(row.prompt)}" has a checker whose "rules" is not a list. Delete the task or fix it.`);
  }
  return raw.map((r, i) => parseRule(r, `task "${clipped(row.prompt)}", rule ${i + 1}`));
}

function clipped(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** A stored row as the core task the loop runs (its id is the row id, so steps point at the row). */
export function fromTaskRow(row: TaskRow): CoreTask {
  const task: CoreTask = {
    id: row.id,
    kind: row.kind,
    prompt: row.prompt,
    split: row.split,
    source: row.taskSetId === 'custom' || row.taskSetId === 'import' ? 'import' : 'builtin',
  };
  if (row.reference !== null && row.reference !== '') {
    const n = row.kind === 'math' ? parseNumberText(row.reference)?.value : undefined;
    task.answer = n ?? row.reference;
  }
  const rules = rulesOf(row);
  if (rules) task.rules = rules;
  return task;
}

/** Rows whose prompt already exists in the same task set are skipped (adding a set twice adds nothing). */
export function withoutDuplicates(existing: readonly TaskRow[], incoming: readonly NewTask[]): NewTask[] {
  const seen = new Set(existing.map((t) => `${t.taskSetId}\u0000${t.prompt}`));
  const out: NewTask[] = [];
  for (const t of incoming) {
    const key = `${t.taskSetId ?? 'custom'}\u0000${t.prompt}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}
