/** Tasks tab logic: core task ↔ stored row mapping, built-in and toy sets, imports, typed prompts, the toy kind. */
import { describe, expect, it } from 'vitest';
import { createKindRegistry } from '../../src/core/refine/kinds.ts';
import { BUILTIN_TASK_SETS } from '../../src/core/tasks/builtin.ts';
import { importTasks } from '../../src/core/tasks/import.ts';
import type { Task as CoreTask } from '../../src/core/tasks/types.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { listTasks } from '../../src/db/tasks.ts';
import type { Task as TaskRow } from '../../src/db/types.ts';
import { PICKER_LIMIT, pickerTasks } from '../../src/ui/playground/task-pick.ts';
import { loadCoreTasks } from '../../src/ui/tasks/task-lookup.ts';
import { fromTaskRow, toNewTask, withoutDuplicates } from '../../src/ui/tasks/task-rows.ts';
import { addCustomPrompt, addImportedTasks, addTaskSet, tasksOfSet, toyTasks } from '../../src/ui/tasks/task-sets.ts';
import { ensureToyKind, TOY_KIND } from '../../src/ui/tasks/toy-kind.ts';
import { freshDb } from './db-helpers.ts';

function row(t: CoreTask, setId: string, id = 'row-1'): TaskRow {
  const n = toNewTask(t, setId);
  return {
    id,
    experimentId: 'e1',
    taskSetId: n.taskSetId!,
    kind: n.kind!,
    prompt: n.prompt,
    reference: n.reference ?? null,
    checker: n.checker ?? null,
    split: n.split!,
    createdAt: 1,
  };
}

describe('task rows', () => {
  it('round-trips every built-in kind: answers, rules and splits survive; the id becomes the row id', () => {
    const math = BUILTIN_TASK_SETS.find((s) => s.id === 'math')!.tasks[0];
    const instr = BUILTIN_TASK_SETS.find((s) => s.id === 'instruction')!.tasks.find((t) => t.rules && t.rules.length > 1)!;
    const open = BUILTIN_TASK_SETS.find((s) => s.id === 'open')!.tasks[0];
    for (const t of [math, instr, open]) {
      const back = fromTaskRow(row(t, t.kind, 'r-9'));
      expect(back).toMatchObject({ id: 'r-9', kind: t.kind, prompt: t.prompt, split: t.split, source: 'builtin' });
      expect(back.answer).toEqual(t.answer);
      expect(back.rules).toEqual(t.rules);
    }
    expect(typeof fromTaskRow(row(math, 'math')).answer).toBe('number');
    expect(row(math, 'math').reference).toBe(String(math.answer));
    expect(row(instr, 'instruction').checker).toEqual({ rules: instr.rules });
    expect(row(open, 'open')).toMatchObject({ reference: null, checker: null });
  });

  it('refuses a stored rule that is not valid instead of running it', () => {
    const instr = BUILTIN_TASK_SETS.find((s) => s.id === 'instruction')!.tasks[0];
    const bad = { ...row(instr, 'instruction'), checker: { rules: [{ type: 'eval_js', code: 'alert(1)' }] } };
    expect(() => fromTaskRow(bad)).toThrow(/unknown rule type "eval_js"/);
    expect(() => fromTaskRow({ ...bad, checker: { rules: 'x' } })).toThrow(/"rules" is not a list/);
  });

  it('skips prompts the same set already has, and repeats within the incoming list', () => {
    const existing = [row({ id: 'a', kind: 'open', prompt: 'P1', split: 'train', source: 'builtin' }, 'open')];
    const incoming = [
      { prompt: 'P1', taskSetId: 'open' },
      { prompt: 'P1', taskSetId: 'import' },
      { prompt: 'P2', taskSetId: 'open' },
      { prompt: 'P2', taskSetId: 'open' },
    ];
    expect(withoutDuplicates(existing, incoming).map((t) => `${t.taskSetId}:${t.prompt}`)).toEqual(['import:P1', 'open:P2']);
  });
});

describe('task sets', () => {
  it('the toy set is generated from its seed: unlabeled train questions, held-out eval questions, no overlap', () => {
    const a = toyTasks({ seed: 3, train: 30, eval: 10 });
    expect(a).toEqual(toyTasks({ seed: 3, train: 30, eval: 10 }));
    expect(a.filter((t) => t.split === 'train')).toHaveLength(30);
    expect(a.filter((t) => t.split === 'eval')).toHaveLength(10);
    expect(a.every((t) => t.kind === TOY_KIND && t.answer === undefined && /^\d+ [+-] \d+$/.test(t.prompt))).toBe(true);
    const train = new Set(a.filter((t) => t.split === 'train').map((t) => t.prompt));
    expect(a.filter((t) => t.split === 'eval').some((t) => train.has(t.prompt))).toBe(false);
    expect(toyTasks({ seed: 4, train: 30, eval: 10 }).map((t) => t.prompt)).not.toEqual(a.map((t) => t.prompt));
    expect(() => toyTasks({ seed: 1, train: -1, eval: 1 })).toThrow(/whole number from 0 to 2000/);
    expect(() => toyTasks({ seed: 1, train: 0, eval: 0 })).toThrow(/at least one/);
    expect(() => tasksOfSet('nope')).toThrow(/no built-in task set "nope"/);
  });

  it('adds a set once (a second add adds nothing), keeps the split, and loads back as checkable core tasks', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'x' });
    const first = await addTaskSet(db, exp.id, 'math');
    const mathCount = BUILTIN_TASK_SETS.find((s) => s.id === 'math')!.tasks.length;
    expect(first).toEqual({ added: mathCount, skipped: 0 });
    expect(await addTaskSet(db, exp.id, 'math')).toEqual({ added: 0, skipped: mathCount });
    const toy = await addTaskSet(db, exp.id, TOY_KIND, { seed: 1, train: 5, eval: 3 });
    expect(toy.added).toBe(8);
    const rows = await listTasks(db, exp.id);
    expect(rows).toHaveLength(mathCount + 8);
    expect(rows.filter((r) => r.taskSetId === TOY_KIND && r.split === 'eval')).toHaveLength(3);
    const core = await loadCoreTasks(db, [rows[0].id, 'missing', rows[rows.length - 1].id]);
    expect(core.map((t) => t.id)).toEqual([rows[0].id, rows[rows.length - 1].id]);
    expect(core[0].answer).toBe(BUILTIN_TASK_SETS.find((s) => s.id === 'math')!.tasks[0].answer);
  });

  it('imports validated prompts under "import" and stores a typed prompt once as a custom task', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'x' });
    const { tasks } = importTasks('{"prompt": "What is 2+2?", "answer": 4}\n{"prompt": "Say hi", "rules": [{"type": "max_words", "n": 3}]}\n', { fileName: 'a.jsonl' });
    expect(await addImportedTasks(db, exp.id, tasks)).toEqual({ added: 2, skipped: 0 });
    expect(await addImportedTasks(db, exp.id, tasks)).toEqual({ added: 0, skipped: 2 });
    const id1 = await addCustomPrompt(db, exp.id, '  Tell me a joke  ');
    expect(await addCustomPrompt(db, exp.id, 'Tell me a joke')).toBe(id1);
    await expect(addCustomPrompt(db, exp.id, '   ')).rejects.toThrow(/Type a prompt first/);
    const rows = await listTasks(db, exp.id);
    expect(rows.map((r) => [r.taskSetId, r.kind, r.prompt])).toEqual([
      ['import', 'math', 'What is 2+2?'],
      ['import', 'instruction', 'Say hi'],
      ['custom', 'open', 'Tell me a joke'],
    ]);
    const [math, instr] = await loadCoreTasks(db, [rows[0].id, rows[1].id]);
    expect(math.answer).toBe(4);
    expect(instr.rules).toEqual([{ type: 'max_words', n: 3 }]);
  });
});

describe('the toy kind', () => {
  it('registers its templates, parser and checker (grading from the question; others are not checkable)', () => {
    const r = createKindRegistry();
    ensureToyKind(r);
    ensureToyKind(r); // idempotent
    const task: CoreTask = { id: 't', kind: TOY_KIND, prompt: '347 + 285', split: 'train', source: 'builtin' };
    expect(r.isVerifiable(task)).toBe(true);
    expect(r.checker(task)!('632')!.pass).toBe(true);
    expect(r.checker(task)!('622')).toMatchObject({ pass: false, failures: ['the tens digit is wrong'] });
    expect(r.isVerifiable({ ...task, prompt: 'not a sum' })).toBe(false);
    const fb = 'ones: 7+5+0=12, so 2; draft 2 ok\ntens: 4+8+1=13, so 32; draft 2, should be 3\nhundreds: 3+2+1=6, so 632; draft 6 ok\nanswer: 632\nVerdict: wrong';
    expect(r.parser(TOY_KIND)(fb)).toMatchObject({ parseStatus: 'ok', feedback: { verdict: 'incorrect' } });
    expect(r.parser(TOY_KIND)('gibberish')).toMatchObject({ parseStatus: 'unparsed', feedback: null });
    expect(r.templates(TOY_KIND).feedback).toBe('{prompt}\n{answer}\nCheck it column by column.');
  });
});

describe('the task picker', () => {
  const rows = Array.from({ length: 601 }, (_, i) => ({ id: `t${i}`, kind: i === 600 ? 'open' : 'toy-arith', split: i % 3 === 0 ? 'eval' : 'train', prompt: i === 600 ? 'Name three colours of the rainbow, please.' : `${100 + i} + 1` }));

  it('lists the first 500 and reaches every other task by search, kind and split', () => {
    expect(pickerTasks(rows, { kind: '', split: '', query: '' })).toMatchObject({ matching: 601, shown: expect.any(Array) });
    expect(pickerTasks(rows, { kind: '', split: '', query: '' }).shown).toHaveLength(PICKER_LIMIT);
    // The imported task, 601st in the list, is one search away.
    expect(pickerTasks(rows, { kind: '', split: '', query: 'RAINBOW colours' }).shown.map((t) => t.id)).toEqual(['t600']);
    expect(pickerTasks(rows, { kind: 'open', split: '', query: '' }).shown.map((t) => t.id)).toEqual(['t600']);
    expect(pickerTasks(rows, { kind: '', split: 'eval', query: '697' }).shown.map((t) => t.id)).toEqual(['t597']);
    expect(pickerTasks(rows, { kind: '', split: 'eval', query: '698' }).shown).toEqual([]);
    expect(pickerTasks(rows, { kind: '', split: '', query: 'no such words' })).toEqual({ matching: 0, shown: [] });
  });
});
