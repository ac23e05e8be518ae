/**
 * Every tab's defaults come from the task kind registry: with its settings untouched, each tab (Playground,
 * Evaluation, SRT, SELF) sends every call with its task kind's own token budget for that step (draft,
 * feedback, refinement) and the kind's stop strings — checked on the calls the engines actually received, in an
 * experiment that mixes the toy kind with a second kind whose budgets differ. Then, for every registered kind
 * (the built-in ones too), every tab's default settings resolve to that kind's registry budgets.
 */
import { describe, expect, it } from 'vitest';
import type { TfjsChatParams } from '../../src/core/engine/tfjs/api.ts';
import { budgetsByKind, resolveBudget, type BudgetChoice } from '../../src/core/refine/budgets.ts';
import { kindRegistry } from '../../src/core/refine/kinds.ts';
import { TOY_MAX_TOKENS } from '../../src/core/toy/evaluate.ts';
import { TOY_KIND, TOY_TASK_KIND } from '../../src/core/toy/kind.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { addTasks } from '../../src/db/tasks.ts';
import type { Step, Task } from '../../src/db/types.ts';
import { runEvaluation } from '../../src/ui/runs/eval-runner.ts';
import { defaultEvalSettings } from '../../src/ui/evaluation/eval-settings.ts';
import { startRefineRun } from '../../src/ui/runs/loop-runner.ts';
import { budgetChoice, DEFAULT_REFINE_SETTINGS, readRefineSettings, type RefineSettings } from '../../src/ui/playground/refine-settings.ts';
import { buildRunConfig } from '../../src/ui/playground/run-setup.ts';
import { DEFAULT_COLLECT } from '../../src/ui/samples/collect.ts';
import { startSelfRun } from '../../src/ui/runs/self-runner.ts';
import { defaultSelfSettings, genericSelfSettings, toySelfSettings } from '../../src/ui/self/self-settings.ts';
import { toyExperimentSettings } from '../../src/ui/self/toy-quickstart.ts';
import { startSrtRun } from '../../src/ui/runs/srt-runner.ts';
import { defaultSrtSettings } from '../../src/ui/srt/srt-settings.ts';
import { fromTaskRow } from '../../src/ui/tasks/task-rows.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';

// A second kind over the same toy world, with budgets and a stop string of its own.
const WIDE = 'toy-wide';
kindRegistry.register({ ...TOY_TASK_KIND, kind: WIDE, label: 'Toy (wide budgets)', generation: { draftTokens: 120, feedbackTokens: 210, refineTokens: 110, stop: ['#END'] } });

type StepName = 'draft' | 'feedback' | 'refinement';
function budgetOf(kind: string, step: StepName): number {
  const g = kindRegistry.generation(kind);
  return step === 'draft' ? g.draftTokens : step === 'feedback' ? g.feedbackTokens : g.refineTokens;
}

/** An experiment with toy-arith and toy-wide tasks (different questions) in both splits. */
async function mixed(train = 4, evalCount = 3) {
  const db = await uiDb();
  const exp = await createExperiment(db, { name: 'mixed', modelId: 'toy-arith', settings: toyExperimentSettings() });
  await addTaskSet(db, exp.id, TOY_KIND, { seed: 3, train, eval: evalCount });
  const toyRows = await db.tasks.toArray();
  const other = await createExperiment(db, { name: 'source of the second kind', modelId: 'toy-arith' });
  await addTaskSet(db, other.id, TOY_KIND, { seed: 4, train, eval: evalCount });
  const seen = new Set(toyRows.map((t) => t.prompt));
  const wide = (await db.tasks.where('experimentId').equals(other.id).toArray()).filter((t) => !seen.has(t.prompt));
  await addTasks(db, exp.id, wide.map((t) => ({ prompt: t.prompt, split: t.split, kind: WIDE, taskSetId: 'wide' })));
  const tasks = await db.tasks.where('experimentId').equals(exp.id).toArray();
  const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
  return { db, exp, tasks, deps };
}

/**
 * Every stored draft, feedback and refinement (and direct evaluation answer) was asked for with its kind's budget
 * and stop strings. Returns the (kind, step) pairs seen, so a test can require that all of them were covered.
 */
function expectKindBudgets(steps: readonly Step[], tasks: readonly Task[], engines: FakeTfjsEngine[]): Set<string> {
  const kindOf = new Map(tasks.map((t) => [t.id, t.kind]));
  const calls = new Map<string, TfjsChatParams>();
  for (const e of engines) for (const c of e.chats) calls.set(JSON.stringify(c.messages), c);
  const seen = new Set<string>();
  for (const s of steps) {
    const step: StepName | null = s.kind === 'evaluation' ? (s.prompt.length > 0 ? 'draft' : null) : s.kind === 'oracle' ? null : s.kind;
    if (!step) continue;
    const kind = kindOf.get(s.taskId)!;
    const call = calls.get(JSON.stringify(s.prompt));
    expect(call, `${step} of a ${kind} task was sent`).toBeDefined();
    expect([kind, step, call!.maxTokens]).toEqual([kind, step, budgetOf(kind, step)]);
    expect(call!.stop ?? []).toEqual(kindRegistry.generation(kind).stop);
    seen.add(`${kind}/${step}`);
  }
  return seen;
}

const ALL = [`${TOY_KIND}/draft`, `${TOY_KIND}/feedback`, `${TOY_KIND}/refinement`, `${WIDE}/draft`, `${WIDE}/feedback`, `${WIDE}/refinement`];

async function loaded(id = 'toy-arith'): Promise<FakeTfjsEngine> {
  const e = new FakeTfjsEngine(toyModel);
  await e.load(id);
  return e;
}

describe("every tab's defaults come from the kind registry (the calls the engines received)", () => {
  it('the toy kind registers the budgets of its own evaluation and SELF experiment', () => {
    expect(kindRegistry.generation(TOY_KIND)).toEqual({ draftTokens: TOY_MAX_TOKENS.draft, feedbackTokens: TOY_MAX_TOKENS.feedback, refineTokens: TOY_MAX_TOKENS.refine, stop: [] });
  });

  it('Playground: a batch with the default settings and with the toy quick start settings', async () => {
    for (const settings of [DEFAULT_REFINE_SETTINGS, readRefineSettings(toyExperimentSettings()).value] as RefineSettings[]) {
      const { db, exp, tasks, deps } = await mixed();
      const actor = await loaded();
      const core = tasks.filter((t) => t.split === 'train').map(fromTaskRow);
      const config = buildRunConfig('batch', core, settings, { actor, critic: null }, { actor: 'toy', critic: null });
      await startRefineRun(deps, { experimentId: exp.id, config, tasks: core, engines: { actor, critic: null }, signal: new AbortController().signal });
      expect(expectKindBudgets(await db.steps.toArray(), tasks, [actor])).toEqual(new Set(ALL));
    }
  });

  it('Evaluation: direct and self-refined answers', async () => {
    const { db, exp, tasks, deps } = await mixed(1, 6);
    const actor = await loaded();
    await runEvaluation(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: defaultEvalSettings('toy-arith'), actor, judge: null, labels: { actor: 'toy', judge: null }, signal: new AbortController().signal });
    expect(expectKindBudgets(await db.steps.toArray(), tasks, [actor])).toEqual(new Set(ALL));
    const [run] = await db.runs.toArray();
    expect(run.config.budgets).toEqual(budgetsByKind([TOY_KIND, WIDE], defaultEvalSettings('toy-arith')));
  });

  it('SRT: the actor drafts, the critic reviews and refines', async () => {
    const { db, exp, tasks, deps } = await mixed(6, 3);
    const actor = await loaded();
    const critic = await loaded('critic');
    await startSrtRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings: { ...defaultSrtSettings('toy-arith'), perRound: 0, evalCount: 0 }, engines: { actor, critic }, labels: { actor: 'toy', critic: 'critic' }, signal: new AbortController().signal });
    expect(expectKindBudgets(await db.steps.toArray(), tasks, [actor, critic])).toEqual(new Set(ALL));
  });

  it('SELF: collect, train and evaluate a round', async () => {
    const { db, exp, tasks, deps } = await mixed(6, 3);
    const actor = await loaded();
    const settings = { ...toySelfSettings(), rounds: 1, perRound: 0, evalCount: 0 };
    await startSelfRun(deps, { experimentId: exp.id, experimentSettings: exp.settings, settings, engines: { actor, critic: null }, labels: { actor: 'toy', critic: null }, signal: new AbortController().signal });
    expect(expectKindBudgets(await db.steps.toArray(), tasks, [actor])).toEqual(new Set(ALL));
  });
});

describe('for every registered kind, every tab\'s default settings resolve to its registry budgets', () => {
  const tabs: [string, BudgetChoice][] = [
    ['Playground (new experiment)', budgetChoice(DEFAULT_REFINE_SETTINGS)],
    ['Playground (toy quick start)', budgetChoice(readRefineSettings(toyExperimentSettings()).value)],
    ['Evaluation (toy model)', defaultEvalSettings('toy-arith')],
    ['Evaluation (other model)', defaultEvalSettings('some/model')],
    ['SRT (toy model)', defaultSrtSettings('toy-arith')],
    ['SRT (other model)', defaultSrtSettings(null)],
    ['SELF (toy model)', defaultSelfSettings('toy-arith')],
    ['SELF (other model)', genericSelfSettings('some/model')],
  ];
  const kinds = kindRegistry.kinds().map((k) => k.kind);

  it('covers the built-in kinds, the toy kind and the test kind', () => {
    expect(kinds).toEqual(expect.arrayContaining(['math', 'instruction', 'open', TOY_KIND, WIDE]));
  });

  for (const [tab, choice] of tabs) {
    it(tab, () => {
      expect([choice.answerTokens, choice.feedbackTokens]).toEqual([null, null]);
      const b = budgetsByKind(kinds, choice);
      for (const k of kinds) {
        const g = kindRegistry.generation(k);
        expect(b[k]).toEqual({ draft: g.draftTokens, feedback: g.feedbackTokens, refine: g.refineTokens, stop: [...g.stop] });
      }
    });
  }

  it('a number the person sets applies to every kind, and only then', () => {
    expect(resolveBudget(kindRegistry.generation(WIDE), { answerTokens: 12, feedbackTokens: null })).toEqual({ draft: 12, feedback: 210, refine: 12, stop: ['#END'] });
  });

  it("Collect keeps the model's own verdict by default, never the checker (which uses the answers)", () => {
    expect(DEFAULT_COLLECT.filter).toEqual({ requireImproved: false, requireVerdictCorrect: true, requireOraclePass: false, minFinalScore: null });
  });
});
