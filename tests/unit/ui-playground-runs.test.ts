/**
 * Playground runs against a scripted engine and fake-indexeddb: a live loop stored step by step (streaming,
 * step-through, stop), resume after a stop and after a "reload" (run marked interrupted), batch runs with
 * progress and summary, refusals, and the engine slots (load with progress, switch, failure, cancel).
 */
import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { AppError } from '../../src/core/errors.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import type { StudioDb } from '../../src/db/db.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { markInterruptedRuns } from '../../src/db/locks.ts';
import { addTasks } from '../../src/db/tasks.ts';
import { listSteps } from '../../src/db/steps.ts';
import type { Experiment } from '../../src/db/types.ts';
import { EngineSlot, type SlotView } from '../../src/ui/engines/engine-slot.ts';
import { summarizeBatch } from '../../src/ui/playground/batch-summary.ts';
import { LiveRun, type LiveRunView } from '../../src/ui/playground/live-run.ts';
import type { RunEngines } from '../../src/ui/runs/loop-runner.ts';
import { roundsOf, stopReasonOf } from '../../src/ui/playground/loop-view.ts';
import { DEFAULT_REFINE_SETTINGS, type RefineSettings } from '../../src/ui/playground/refine-settings.ts';
import { parseRunConfig } from '../../src/ui/playground/run-config.ts';
import { buildRunConfig } from '../../src/ui/playground/run-setup.ts';
import { loadCoreTasks } from '../../src/ui/tasks/task-lookup.ts';
import { FakeLocks, freshDb } from './db-helpers.ts';
import { answerUnderReview, attemptsQuoted, callKind, PLAIN_TEMPLATES, withoutTimes } from './refine-helpers.ts';

/** Math answers start at 40 and gain 1 per attempt quoted; feedback scores by distance from 42. Open: NO ISSUES. */
function script(req: ChatRequest): string {
  const user = req.messages[req.messages.length - 1].content;
  const open = user.includes('Tell me');
  switch (callKind(req)) {
    case 'draft':
      return open ? 'A short story about the sea.' : 'I think it is 40.\n#### 40';
    case 'refine':
      return `Fixed the sum.\n#### ${40 + attemptsQuoted(req)}`;
    case 'feedback': {
      if (open) return 'Weaknesses: none\nScore: 9/10\nVerdict: correct\nNO ISSUES';
      const got = Number(/####\s*(\d+)/.exec(answerUnderReview(req))?.[1] ?? 0);
      if (got === 42) return 'Weaknesses: none\nScore: 10/10\nVerdict: correct\nNO ISSUES';
      return `Weaknesses:\n- The total ${got} is off.\nSuggestions:\n- Add again.\nScore: ${10 - (42 - got) * 2}/10\nVerdict: incorrect`;
    }
    default:
      throw new Error(`unexpected call: ${user.slice(0, 40)}`);
  }
}

const SETTINGS: RefineSettings = {
  ...DEFAULT_REFINE_SETTINGS,
  params: { maxTokens: 100, temperature: 0, topP: null, topK: null, seed: 7 },
  stop: { maxRounds: 3, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true, maxUnparsedInRow: 2 },
  templates: { math: PLAIN_TEMPLATES, open: PLAIN_TEMPLATES },
};

interface World {
  db: StudioDb;
  locks: FakeLocks;
  exp: Experiment;
  taskIds: string[];
}

async function world(): Promise<World> {
  const db = await freshDb();
  const exp = await createExperiment(db, { name: 'playground' });
  const rows = await addTasks(db, exp.id, [
    { prompt: 'What is the answer to problem m1?', kind: 'math', reference: '42', taskSetId: 'math' },
    { prompt: 'What is the answer to problem m2?', kind: 'math', reference: '42', taskSetId: 'math' },
    { prompt: 'What is the answer to problem m3?', kind: 'math', reference: '42', taskSetId: 'math', split: 'eval' },
    { prompt: 'Tell me about the sea.', kind: 'open', taskSetId: 'open' },
  ]);
  return { db, locks: new FakeLocks(), exp, taskIds: rows.map((r) => r.id) };
}

function actor(options: { batch?: boolean; modelId?: string; fail?: number } = {}): ScriptedEngine {
  let n = 0;
  return new ScriptedEngine({
    modelId: options.modelId ?? 'scripted-actor',
    batch: options.batch,
    script: (req) => (options.fail !== undefined && n++ === options.fail ? new AppError('engine', 'The model crashed.') : script(req)),
  });
}

/** Starts a live run and records every view it shows. */
async function start(w: World, mode: 'single' | 'batch', taskIds: string[], engines: RunEngines, stepThrough = false, settings = SETTINGS) {
  const views: LiveRunView[] = [];
  const tasks = await loadCoreTasks(w.db, taskIds);
  const config = buildRunConfig(mode, tasks, { ...settings, stepThrough }, engines, { actor: 'Scripted', critic: null });
  const live = LiveRun.start({ db: w.db, locks: w.locks }, { experimentId: w.exp.id, config, tasks, engines }, stepThrough, (v) => views.push(v));
  return { live, views };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!check()) throw new Error('timed out waiting');
}

const withoutIds = (steps: readonly StepRecord[]) =>
  withoutTimes(steps).map(({ loopId: _l, taskId: _t, ...rest }) => ({ ...rest, id: undefined, runId: undefined, experimentId: undefined }));

describe('a single live loop', () => {
  it('streams tokens, stores every step as it completes, and records why it stopped', async () => {
    const w = await world();
    const { live, views } = await start(w, 'single', [w.taskIds[0]], { actor: actor(), critic: null });
    await live.finished;
    const v = live.view;
    expect(v.status).toBe('done');
    expect(v.steps.map((s) => `${s.kind}@${s.refineRound}`)).toEqual(['draft@0', 'feedback@0', 'refinement@1', 'feedback@1', 'refinement@2', 'feedback@2']);
    expect(v.results[0].stopReason).toBe('no-issues');
    expect(views.some((x) => x.streaming?.call.kind === 'draft' && x.streaming.text === 'I think it is 40.\n####')).toBe(true);
    const stored = await listSteps(w.db, v.runId!);
    expect(stored.map((s) => s.id)).toEqual(v.steps.map((s) => (s as { id?: string }).id));
    for (const s of stored) {
      expect(s).toMatchObject({ runId: v.runId, experimentId: w.exp.id, taskId: w.taskIds[0], loopId: `${v.runId}/${w.taskIds[0]}`, engine: 'openai', modelId: 'scripted-actor', seed: 7, source: 'self', evolutionRound: 0 });
      expect(s.prompt.length).toBeGreaterThan(0);
    }
    expect(stored[0].prompt).toEqual([{ role: 'user', content: 'DRAFT What is the answer to problem m1?' }]);
    expect(stored[4].prompt[0].content).toContain('[attempt 2] Fixed the sum.\n#### 41');
    expect(stored[1]).toMatchObject({ score: 6, parseStatus: 'ok', feedback: { verdict: 'incorrect' } });
    const run = await w.db.runs.get(v.runId!);
    expect(run).toMatchObject({ status: 'done', kind: 'refine' });
    const config = parseRunConfig(run!.config);
    expect(config.templates.math).toEqual(PLAIN_TEMPLATES);
    expect(stopReasonOf((await loadCoreTasks(w.db, [w.taskIds[0]]))[0], stored, config)).toBe('no-issues');
    const rounds = roundsOf(stored);
    expect(rounds.map((r) => r.stats)).toEqual([null, { inserted: 4, deleted: 6 }, { inserted: 1, deleted: 1 }]);
  });

  it('step-through waits before each engine call; stop leaves an aborted run that resumes to the same steps', async () => {
    const reference = await world();
    const full = await start(reference, 'single', [reference.taskIds[0]], { actor: actor(), critic: null });
    await full.live.finished;

    const w = await world();
    const engine = actor();
    const { live } = await start(w, 'single', [w.taskIds[0]], { actor: engine, critic: null }, true);
    await until(() => live.view.waiting !== null);
    expect(live.view.waiting).toMatchObject({ kind: 'draft', refineRound: 0, role: 'actor' });
    expect(live.view.waiting!.messages[0].content).toBe('DRAFT What is the answer to problem m1?');
    expect(engine.calls).toHaveLength(0);
    live.next();
    await until(() => live.view.waiting?.kind === 'feedback');
    expect(live.view.steps.map((s) => s.kind)).toEqual(['draft']);
    live.stop();
    await live.finished;
    expect(live.view.status).toBe('aborted');
    const runId = live.view.runId!;
    expect(await w.db.runs.get(runId)).toMatchObject({ status: 'aborted' });
    expect(await listSteps(w.db, runId)).toHaveLength(1);

    const resumed = LiveRun.resume(
      { db: w.db, locks: w.locks },
      { runId, engines: { actor: engine, critic: null }, mode: 'single', total: 1, tasks: (ids) => loadCoreTasks(w.db, ids) },
      false,
      () => undefined,
    );
    await resumed.finished;
    expect(resumed.view.status).toBe('done');
    expect(resumed.view.runId).toBe(runId);
    expect(resumed.view.steps).toHaveLength(6);
    const steps = await listSteps(w.db, runId);
    expect(withoutIds(steps)).toEqual(withoutIds(await listSteps(reference.db, full.live.view.runId!)));
    expect(await w.db.runs.get(runId)).toMatchObject({ status: 'done', error: null });
  });

  it('a run cut off by a reload is marked interrupted and resumes from its last stored step', async () => {
    const w = await world();
    const engine = actor();
    const { live } = await start(w, 'single', [w.taskIds[0]], { actor: engine, critic: null }, true);
    await until(() => live.view.waiting?.kind === 'draft');
    live.next();
    await until(() => live.view.waiting?.kind === 'feedback');
    live.next();
    await until(() => live.view.waiting?.kind === 'refinement');
    // "Reload": the old page is gone with its lock; a new page sees an orphaned 'running' row.
    const afterReload = new FakeLocks();
    const runId = live.view.runId!;
    expect(await markInterruptedRuns(w.db, afterReload)).toEqual([runId]);
    expect(await w.db.runs.get(runId)).toMatchObject({ status: 'interrupted' });
    const calls = engine.calls.length;
    const resumed = LiveRun.resume(
      { db: w.db, locks: afterReload },
      { runId, engines: { actor: engine, critic: null }, mode: 'single', total: 1, tasks: (ids) => loadCoreTasks(w.db, ids) },
      false,
      () => undefined,
    );
    expect(resumed.view.status).toBe('running');
    await resumed.finished;
    expect(resumed.view.status).toBe('done');
    expect(engine.calls.length - calls).toBe(4); // refinement 1, its feedback, refinement 2, its feedback
    const steps = await listSteps(w.db, runId);
    expect(steps.map((s) => `${s.kind}@${s.refineRound}`)).toEqual(['draft@0', 'feedback@0', 'refinement@1', 'feedback@1', 'refinement@2', 'feedback@2']);
    expect(steps[2].prompt[0].content).toContain('[attempt 1] I think it is 40.');
  });

  it('an engine failure marks the run failed with the message and keeps the steps before it', async () => {
    const w = await world();
    const { live } = await start(w, 'single', [w.taskIds[0]], { actor: actor({ fail: 2 }), critic: null });
    await live.finished;
    expect(live.view.status).toBe('failed');
    expect(live.view.error?.message).toBe('The model crashed.');
    expect(await w.db.runs.get(live.view.runId!)).toMatchObject({ status: 'failed', error: 'The model crashed.' });
    expect(await listSteps(w.db, live.view.runId!)).toHaveLength(2);
  });

  it('refuses to resume on another model, a finished run, or a running one', async () => {
    const w = await world();
    const done = await start(w, 'single', [w.taskIds[0]], { actor: actor(), critic: null });
    await done.live.finished;
    const resume = (runId: string, modelId = 'scripted-actor') =>
      LiveRun.resume({ db: w.db, locks: w.locks }, { runId, engines: { actor: actor({ modelId }), critic: null }, mode: 'single', total: 1, tasks: (ids) => loadCoreTasks(w.db, ids) }, false, () => undefined);
    const finished = resume(done.live.view.runId!);
    await finished.finished;
    expect(finished.view.error?.message).toMatch(/has finished; there is nothing to resume/);

    const paused = await start(w, 'single', [w.taskIds[1]], { actor: actor(), critic: null }, true);
    await until(() => paused.live.view.waiting !== null);
    const busy = resume(paused.live.view.runId!);
    await busy.finished;
    expect(busy.view.error?.message).toMatch(/already running/);
    paused.live.stop();
    await paused.live.finished;
    const other = resume(paused.live.view.runId!, 'another-model');
    await other.finished;
    expect(other.view.error?.message).toMatch(/used Scripted \(openai, scripted-actor\) as the actor, but another-model/);
    expect(await w.db.runs.get(paused.live.view.runId!)).toMatchObject({ status: 'aborted' });
  });
});

describe('a separate critic', () => {
  it('writes the feedback steps (source critic, its engine and model); resume needs the same critic', async () => {
    const w = await world();
    const critic = new ScriptedEngine({ modelId: 'scripted-critic', script: (req) => script(req) });
    const engines = { actor: actor(), critic };
    const views: LiveRunView[] = [];
    const tasks = await loadCoreTasks(w.db, [w.taskIds[0]]);
    const config = buildRunConfig('single', tasks, { ...SETTINGS, stepThrough: true }, engines, { actor: 'Actor', critic: 'Critic' });
    expect(config.critic).toEqual({ kind: 'openai', modelId: 'scripted-critic', label: 'Critic' });
    const live = LiveRun.start({ db: w.db, locks: w.locks }, { experimentId: w.exp.id, config, tasks, engines }, true, (v) => views.push(v));
    await until(() => live.view.waiting?.kind === 'draft');
    live.next();
    await until(() => live.view.waiting?.kind === 'feedback');
    expect(live.view.waiting?.role).toBe('critic');
    live.stop();
    await live.finished;
    const runId = live.view.runId!;
    const noCritic = LiveRun.resume(
      { db: w.db, locks: w.locks },
      { runId, engines: { actor: engines.actor, critic: null }, mode: 'single', total: 1, tasks: (ids) => loadCoreTasks(w.db, ids) },
      false,
      () => undefined,
    );
    await noCritic.finished;
    expect(noCritic.view.error?.message).toMatch(/used Critic as the critic/);
    const resumed = LiveRun.resume({ db: w.db, locks: w.locks }, { runId, engines, mode: 'single', total: 1, tasks: (ids) => loadCoreTasks(w.db, ids) }, false, () => undefined);
    await resumed.finished;
    expect(resumed.view.status).toBe('done');
    const steps = await listSteps(w.db, runId);
    expect(steps.filter((s) => s.kind === 'feedback').every((s) => s.source === 'critic' && s.modelId === 'scripted-critic')).toBe(true);
    expect(steps.filter((s) => s.kind !== 'feedback').every((s) => s.source === 'self' && s.modelId === 'scripted-actor')).toBe(true);
    expect(critic.calls.every((c) => callKind(c) === 'feedback')).toBe(true);
  });
});

describe('batch runs', () => {
  it('runs loops in lock-step with chatBatch, reports progress, and summarises improvements and accuracy', async () => {
    const w = await world();
    const engine = actor({ batch: true });
    const { live, views } = await start(w, 'batch', w.taskIds, { actor: engine, critic: null });
    await live.finished;
    expect(live.view.status).toBe('done');
    expect(engine.batchCalls).toBeGreaterThan(0);
    expect(live.view.progress).toMatchObject({ done: 4, total: 4, doneAtStart: 0 });
    expect(views.map((v) => v.progress?.done ?? 0).filter((d, i, a) => a.indexOf(d) === i)).toEqual([0, 1, 2, 3, 4]);
    const runId = live.view.runId!;
    expect(await w.db.runs.get(runId)).toMatchObject({ kind: 'batch', status: 'done', progress: { done: 4, total: 4 } });
    const steps = await listSteps(w.db, runId);
    expect(steps).toHaveLength(3 * 6 + 2);
    expect(live.view.stepCount).toBe(20);
    const summary = summarizeBatch(await loadCoreTasks(w.db, w.taskIds), steps);
    expect(summary).toMatchObject({ tasks: 4, loops: 4, improved: 3, changed: 3, verifiable: 3, initialPass: 0, finalPass: 3, accuracyBefore: 0, accuracyAfter: 1 });
  });

  it('a stopped batch resumes: finished loops are not redone and the ETA counts only new work', async () => {
    const w = await world();
    const engine = actor({ batch: true });
    const { live } = await start(w, 'batch', w.taskIds, { actor: engine, critic: null });
    await until(() => (live.view.progress?.done ?? 0) >= 1);
    live.stop();
    await live.finished;
    expect(live.view.status).toBe('aborted');
    const runId = live.view.runId!;
    const before = (await listSteps(w.db, runId)).length;
    const resumed = LiveRun.resume(
      { db: w.db, locks: w.locks },
      { runId, engines: { actor: engine, critic: null }, mode: 'batch', total: 4, tasks: (ids) => loadCoreTasks(w.db, ids) },
      false,
      () => undefined,
    );
    await resumed.finished;
    expect(resumed.view.status).toBe('done');
    expect(resumed.view.progress).toMatchObject({ done: 4, total: 4, doneAtStart: 1 });
    const steps = await listSteps(w.db, runId);
    expect(steps).toHaveLength(20);
    expect(resumed.view.stepCount).toBe(20 - before);
    expect(new Set(steps.map((s) => `${s.loopId}:${s.kind}:${s.refineRound}`)).size).toBe(20);
  });

  it('refuses the oracle in "replace" mode for tasks without a checker', async () => {
    const w = await world();
    const tasks = await loadCoreTasks(w.db, w.taskIds);
    expect(() => buildRunConfig('batch', tasks, { ...SETTINGS, oracle: 'replace' }, { actor: actor(), critic: null }, { actor: 'a', critic: null })).toThrow(
      /oracle cannot replace model feedback for a task without a checker/,
    );
    expect(() => buildRunConfig('batch', [], SETTINGS, { actor: actor(), critic: null }, { actor: 'a', critic: null })).toThrow(/no tasks to run/);
  });
});

describe('engine slots', () => {
  it('loads with progress, switches (unloading and disposing the old engine), and shows failures', async () => {
    const views: SlotView[] = [];
    const disposed: string[] = [];
    const engines: ScriptedEngine[] = [];
    const slot = new EngineSlot(
      'actor',
      (choice) => {
        if (choice.kind === 'openai') throw new AppError('bad-input', 'Enter the endpoint first.');
        const engine = new ScriptedEngine({ modelId: null, script: ['x'] });
        engines.push(engine);
        const id = choice.kind === 'webllm' ? choice.modelId : 'toy-arith';
        return { engine, loadId: id, describe: () => `runs ${id}`, dispose: () => disposed.push(id) };
      },
      (v) => views.push(v),
    );
    const toy = { kind: 'tfjs', model: { from: 'embedded', id: 'toy-arith' }, backend: 'auto' } as const;
    await slot.load(toy, { endpoint: null, folderFiles: null });
    expect(slot.view).toMatchObject({ status: 'ready', modelId: 'toy-arith', detail: 'runs toy-arith', label: 'tfjs · Toy arithmetic model (tfjs only)' });
    expect(views.some((v) => v.status === 'loading' && v.progress?.text === 'Scripted model toy-arith ready.')).toBe(true);
    expect(slot.engine).toBe(engines[0]);
    expect(slot.holds(toy)).toBe(true);

    await slot.load({ kind: 'webllm', modelId: 'qwen2.5-0.5b' }, { endpoint: null, folderFiles: null });
    expect(engines[0].modelId).toBeNull();
    expect(disposed).toEqual(['toy-arith']);
    expect(slot.view.modelId).toBe('qwen2.5-0.5b');
    expect(slot.holds(toy)).toBe(false);

    await expect(slot.load({ kind: 'openai' }, { endpoint: null, folderFiles: null })).rejects.toThrow(/Enter the endpoint first/);
    expect(slot.view).toMatchObject({ status: 'failed', error: { code: 'bad-input' } });
    expect(slot.engine).toBeNull();
    expect(disposed).toEqual(['toy-arith', 'qwen2.5-0.5b']);

    await slot.load(toy, { endpoint: null, folderFiles: null });
    await slot.unload();
    expect(slot.view.status).toBe('empty');
    expect(disposed).toEqual(['toy-arith', 'qwen2.5-0.5b', 'toy-arith']);
  });

  it('a cancelled load leaves the slot empty without an error', async () => {
    const slot = new EngineSlot(
      'critic',
      () => ({
        engine: {
          kind: 'openai',
          capabilities: { adapters: false, trainLora: false, evolve: false },
          modelId: null,
          load: (_id: string, o?: { signal?: AbortSignal }) =>
            new Promise<void>((_, reject) => o?.signal?.addEventListener('abort', () => reject(new AppError('aborted', 'Stopped.')))),
          chat: () => Promise.reject(new Error('unused')),
          unload: async () => undefined,
        },
        loadId: 'slow',
      }),
      () => undefined,
    );
    const loading = slot.load({ kind: 'openai' }, { endpoint: null, folderFiles: null });
    await until(() => slot.view.status === 'loading');
    slot.cancel();
    await loading;
    expect(slot.view).toMatchObject({ status: 'empty', error: null });
    // Cancelled before the engine was even built: nothing is loaded either.
    const early = slot.load({ kind: 'openai' }, { endpoint: null, folderFiles: null });
    slot.cancel();
    await early;
    expect(slot.view.status).toBe('empty');
  });
});
