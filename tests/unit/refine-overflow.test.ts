/**
 * A prompt too long for the model's context, retold for the step it happened in: which part is long (the
 * kind's template, the quoted answer, or the task's own text) and what to do — never "shorten the prompt" for a
 * 40-character prompt inside a 1,500-character template.
 */
import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import { AppError } from '../../src/core/errors.ts';
import { answerDirect } from '../../src/core/refine/eval.ts';
import { runSelfRefine, runSelfRefineBatch } from '../../src/core/refine/loop.ts';
import type { Task } from '../../src/core/tasks/types.ts';

const overflow = () => new AppError('context-overflow', 'The prompt has 546 tokens, but this model reads at most 384 (prompt and reply together). Shorten the prompt or the conversation.');
const stop = { maxRounds: 1, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true };
const task = (prompt: string): Task => ({ id: 't1', kind: 'open', prompt, split: 'train', source: 'import' });
const PROMPT = 'Name three colours of the rainbow, please.';

describe('context overflow, explained', () => {
  it('a short imported prompt whose feedback template is long: the template is named, with what to do', async () => {
    const engine = new ScriptedEngine({ script: ['Red, orange and yellow.', overflow()] });
    const e = (await runSelfRefine({ engine, task: task(PROMPT), loopId: 'l', stop, onStep: async () => {} }).catch((x: unknown) => x)) as AppError;
    expect(e.code).toBe('context-overflow');
    expect(e.message).toMatch(/^The feedback prompt for this task has 546 tokens, but this model reads at most 384 \(prompt and reply together\)\. Of its \d+ characters, \d+ are the "open" feedback template around the task, 42 the task's own text and 23 the answer it reviews\./);
    expect(e.message).toContain('The template is the long part: use a model with a longer context, or a shorter feedback template for "open" tasks');
    expect(e.message).not.toContain('Shorten the prompt');
  });

  it('a long task text is named as the long part; batched calls are explained too', async () => {
    const long = 'word '.repeat(2000).trim();
    const engine = new ScriptedEngine({ script: [overflow()], batch: true });
    const e = (await runSelfRefineBatch({ engine, loops: [{ task: task(long), loopId: 'a' }, { task: { ...task('short'), id: 't2' }, loopId: 'b' }], stop, onStep: async () => {} }).catch((x: unknown) => x)) as AppError;
    expect(e.message).toMatch(/^The draft prompt for this task has 546 tokens/);
    expect(e.message).toContain("The task's own text is the long part: shorten it, or use a model with a longer context.");
  });

  it('direct evaluation answers, and other errors pass through unchanged', async () => {
    const e = (await answerDirect({ engine: new ScriptedEngine({ script: [overflow()] }), adapterId: null }, [task(PROMPT)]).catch((x: unknown) => x)) as AppError;
    expect(e.message).toMatch(/^The draft prompt for this task has 546 tokens.*"open" draft template around the task, 42 the task's own text\./);
    const other = new AppError('engine', 'boom');
    await expect(runSelfRefine({ engine: new ScriptedEngine({ script: [other] }), task: task(PROMPT), loopId: 'l', stop, onStep: async () => {} })).rejects.toBe(other);
  });
});
