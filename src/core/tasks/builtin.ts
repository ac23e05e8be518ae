import { INSTRUCTION_TASKS } from './instruction-prompts.ts';
import { MATH_TASKS } from './math-problems.ts';
import { OPEN_TASKS } from './open-prompts.ts';
import type { Task } from './types.ts';

export interface TaskSet {
  id: string;
  name: string;
  description: string;
  tasks: readonly Task[];
}

/** The task sets that ship with the app. */
export const BUILTIN_TASK_SETS: readonly TaskSet[] = [
  {
    id: 'math',
    name: 'Math word problems',
    description: `${MATH_TASKS.length} word problems with numeric answers, checked by reading the final number.`,
    tasks: MATH_TASKS,
  },
  {
    id: 'instruction',
    name: 'Instruction following',
    description: `${INSTRUCTION_TASKS.length} prompts with rules checked in code (word counts, keywords, JSON, bullets, …).`,
    tasks: INSTRUCTION_TASKS,
  },
  {
    id: 'open',
    name: 'Open-ended',
    description: `${OPEN_TASKS.length} open prompts, judged pairwise by a model.`,
    tasks: OPEN_TASKS,
  },
];

export function builtinTaskSet(id: string): TaskSet | undefined {
  return BUILTIN_TASK_SETS.find((s) => s.id === id);
}

export function splitTasks(tasks: readonly Task[], split: Task['split']): Task[] {
  return tasks.filter((t) => t.split === split);
}
