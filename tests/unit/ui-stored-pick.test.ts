/**
 * The Playground's chosen task survives a reload (issue 11): the task the model's own search chose, with its note,
 * and a task the person chose, are kept in the experiment's settings (Dexie); a fresh page state (a reload)
 * restores them, and never over a choice already made on the page.
 */
import { describe, expect, it } from 'vitest';
import { createExperiment, getExperiment } from '../../src/db/experiments.ts';
import type { Task as CoreTask } from '../../src/core/tasks/types.ts';
import { AppState } from '../../src/ui/state/app.svelte.ts';
import { PlaygroundState } from '../../src/ui/playground/playground.svelte.ts';
import { readStoredPick, writeStoredPick } from '../../src/ui/playground/stored-pick.ts';
import { freshDb } from './db-helpers.ts';

async function page() {
  const db = await freshDb();
  const app = new AppState();
  app.db = db;
  const exp = await createExperiment(db, { name: 'toy', modelId: 'toy-arith' });
  const settings = async () => (await getExperiment(db, exp.id))!.settings;
  return { db, app, exp, settings };
}

describe('the chosen task is kept across a reload', () => {
  it('reads back only a usable pick', () => {
    expect(readStoredPick({})).toBeNull();
    expect(readStoredPick({ pick: 'x' })).toBeNull();
    expect(readStoredPick({ pick: { taskId: '' } })).toBeNull();
    expect(readStoredPick({ pick: { taskId: 't1', note: 7 } })).toEqual({ taskId: 't1', note: null });
    expect(readStoredPick(writeStoredPick({ refine: {} }, { taskId: 't2', note: 'why' }))).toEqual({ taskId: 't2', note: 'why' });
    expect(writeStoredPick({ refine: { a: 1 } }, { taskId: 't2', note: null }).refine).toEqual({ a: 1 });
  });

  it('the search’s choice and note, then a person’s choice, come back on a fresh page', async () => {
    const { db, app, exp, settings } = await page();
    const before = new PlaygroundState(app, exp.id);
    await before.pickShowcase(async () => ({ task: { id: 'task-7' } as CoreTask, fixed: true, tried: 5 }));
    expect(before.pick.taskId).toBe('task-7');

    const reloaded = new PlaygroundState(app, exp.id);
    expect(reloaded.pick.taskId).toBe('');
    reloaded.restore(await settings());
    expect(reloaded.pick.taskId).toBe('task-7');
    expect(reloaded.showcase).toEqual({ status: 'done', text: before.showcase!.text });
    expect(reloaded.showcase!.text).toContain('on 5 tasks');

    await reloaded.choose('task-9');
    expect(reloaded.showcase).toBeNull();
    const again = new PlaygroundState(app, exp.id);
    again.restore(await settings());
    expect(again.pick.taskId).toBe('task-9');
    expect(again.showcase).toBeNull();

    // A choice made on the page is not replaced by the stored one.
    const chosen = new PlaygroundState(app, exp.id);
    chosen.pick.taskId = 'task-1';
    chosen.restore(await settings());
    expect(chosen.pick.taskId).toBe('task-1');
    db.close();
  });
});
