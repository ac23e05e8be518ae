import { describe, expect, it } from 'vitest';
import { ScriptedAdapterEngine, ScriptedEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { AppError } from '../../src/core/errors.ts';
import { checkBuiltinTask } from '../../src/core/tasks/check.ts';
import { createKindRegistry, type MetaMix } from '../../src/core/refine/kinds.ts';
import { metaMixRows, runSelfEvolution, type RoundMetrics, type SelfCheckpoint, type SelfOptions, type SelfProgress } from '../../src/core/refine/self-rounds.ts';
import type { Trainer, TrainRequest } from '../../src/core/train/trainer.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import { answerUnderReview, attemptsQuoted, callKind, fakeClock, mathTask, PLAIN_TEMPLATES } from './refine-helpers.ts';

/** The actor gets better with each adapter: its draft is 40 + the number of SELF rounds trained. */
const SKILL: Record<string, number> = { 'ad-Meta-skill': 0, 'ad-SELF round 1': 1, 'ad-SELF round 2': 2 };

function actor(req: ChatRequest): string {
  const skill = req.adapterId ? SKILL[req.adapterId] : 0;
  switch (callKind(req)) {
    case 'draft':
      return `#### ${40 + skill}`;
    case 'refine':
      return `#### ${40 + skill + attemptsQuoted(req)}`;
    case 'feedback': {
      const got = Number(/####\s*(\d+)/.exec(answerUnderReview(req))?.[1]);
      return got === 42 ? 'Score: 10/10\nVerdict: correct\nNO ISSUES' : `Weaknesses:\n- ${got} is wrong\nScore: ${10 - (42 - got) * 2}/10\nVerdict: incorrect`;
    }
    default:
      throw new Error('unexpected call');
  }
}

/** Records calls; the new adapter's id is derived from the label so a resumed run gets the same ids. */
class FakeTrainer implements Trainer<{ lr: number }> {
  calls: TrainRequest<{ lr: number }>[] = [];
  abortOn: string | null = null;
  async train(req: TrainRequest<{ lr: number }>) {
    this.calls.push(req);
    req.onProgress?.({ step: 1, totalSteps: 2, loss: 1.25 });
    await new Promise((r) => setTimeout(r, 1));
    if (this.abortOn === req.label || req.signal?.aborted) throw new AppError('aborted', 'Stopped.');
    req.onProgress?.({ step: 2, totalSteps: 2, loss: 0.5 });
    return { adapterId: `ad-${req.label}`, metrics: { loss: 0.5, rows: req.rows.length } };
  }
}

const TASKS = [mathTask('t1', 42), mathTask('t2', 42), mathTask('t3', 42), mathTask('e1', 42, 'eval'), mathTask('e2', 42, 'eval')];
const STOP = { maxRounds: 2, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true };

function setup(extra: Partial<SelfOptions<{ lr: number }>> = {}) {
  const steps: StepRecord[] = [];
  const checkpoints: SelfCheckpoint[] = [];
  const metrics: RoundMetrics[] = [];
  const progress: SelfProgress[] = [];
  const engine = new ScriptedAdapterEngine({ script: actor, batch: true });
  const critic = new ScriptedEngine({
    script: (req) => (callKind(req) === 'refine' ? '#### 42' : actor(req)),
    modelId: 'critic-model',
  });
  const trainer = new FakeTrainer();
  const options: SelfOptions<{ lr: number }> = {
    runId: 'run1',
    tasks: TASKS,
    engine,
    trainer,
    trainConfig: { lr: 1e-3 },
    rounds: 2,
    loop: { stop: STOP, params: { seed: 3 } },
    templates: PLAIN_TEMPLATES,
    filter: { requireImproved: true },
    metaSkill: { critic },
    evaluation: { selfRefine: true, baseline: true },
    store: {
      saveStep: async (s) => void steps.push(s),
      saveCheckpoint: async (c) => void checkpoints.push(c),
      saveRoundMetrics: async (m) => void metrics.push(m),
    },
    onProgress: (p) => progress.push(p),
    now: fakeClock(),
    ...extra,
  };
  return { options, steps, checkpoints, metrics, progress, engine, critic, trainer };
}

describe('SELF rounds', () => {
  it('meta-skill stage, baseline, then collect → train → evaluate each round, with metrics stored', async () => {
    const s = setup();
    const result = await runSelfEvolution(s.options);

    // Training: meta-skill rows (feedback then refinement) from the critic's loops, then SFT rows each round,
    // each continuing from the previous adapter.
    expect(s.trainer.calls.map((c) => [c.method, c.label, c.fromAdapterId, c.rows.length])).toEqual([
      ['sft', 'Meta-skill', null, 3],
      ['sft', 'SELF round 1', 'ad-Meta-skill', 3],
      ['sft', 'SELF round 2', 'ad-SELF round 1', 3],
    ]);
    expect(s.trainer.calls[0].rows[0]).toMatchObject({ completion: [{ role: 'assistant', content: expect.stringContaining('BETTER: #### 42') }] });
    expect(s.trainer.calls[1].rows[0]).toMatchObject({ messages: [{ role: 'user' }, { role: 'assistant', content: '#### 42' }] });
    expect(s.trainer.calls.every((c) => c.config.lr === 1e-3)).toBe(true);
    expect(result.adapterId).toBe('ad-SELF round 2');

    // The actor answers with the current adapter in each round.
    const collectCalls = (round: number) => s.steps.filter((x) => x.loopId.startsWith(`run1/r${round}/collect/`) && x.kind === 'draft');
    expect(new Set(collectCalls(1).map((x) => x.adapterId))).toEqual(new Set(['ad-Meta-skill']));
    expect(new Set(collectCalls(2).map((x) => x.adapterId))).toEqual(new Set(['ad-SELF round 1']));
    expect(collectCalls(2).every((x) => x.evolutionRound === 2)).toBe(true);
    // Meta-skill loops: actor drafts, critic critiques and refines.
    const meta = s.steps.filter((x) => x.loopId.startsWith('run1/r0/meta-skill/'));
    expect(meta.filter((x) => x.kind === 'refinement').every((x) => x.modelId === 'critic-model' && x.source === 'critic')).toBe(true);

    // Metrics: baseline (round 0), then rounds 1 and 2, direct and self-refined accuracy on the eval split.
    expect(s.metrics.map((m) => [m.round, m.adapterId, m.directAccuracy, m.refinedAccuracy, m.evalTasks])).toEqual([
      [0, 'ad-Meta-skill', 0, 1, 2],
      [1, 'ad-SELF round 1', 0, 1, 2],
      [2, 'ad-SELF round 2', 1, 1, 2],
    ]);
    expect(s.metrics[0].train).toMatchObject({ rows: 3, skipped: false });
    const noCut = { answers: 9, answersCut: 0, feedback: 9, feedbackCut: 0 };
    expect(s.metrics[1].collect).toEqual({ loops: 3, kept: 3, improved: 3, rows: 3, cutOff: noCut });
    expect(s.metrics[1].train).toEqual({ rows: 3, metrics: { loss: 0.5, rows: 3 }, skipped: false });
    expect(s.metrics[2].collect).toEqual({ loops: 3, kept: 3, improved: 3, rows: 3, cutOff: { answers: 6, answersCut: 0, feedback: 6, feedbackCut: 0 } });
    expect(s.metrics[2].cutOff).toEqual({ direct: 0, refined: 0, feedback: { n: 2, cutOff: 0 } });
    expect(result.history).toEqual(s.metrics);
    // Evaluation steps are stored, one per task and mode.
    expect(s.steps.filter((x) => x.kind === 'evaluation' && x.evolutionRound === 2).map((x) => [x.loopId, x.score])).toEqual([
      ['run1/r2/eval-direct/e1', 1],
      ['run1/r2/eval-direct/e2', 1],
      ['run1/r2/eval-refine/e1', 1],
      ['run1/r2/eval-refine/e2', 1],
    ]);

    // A checkpoint after every phase.
    expect(s.checkpoints.map((c) => `${c.round}:${c.phase}`)).toEqual(['0:meta-skill', '0:baseline', '1:collect', '1:train', '1:evaluate', '2:collect', '2:train', '2:evaluate', '2:done']);
    // Batched generation was used.
    expect(s.engine.batchCalls).toBeGreaterThan(0);
    // Progress events carry counts and an ETA.
    const collect1 = s.progress.filter((p) => p.round === 1 && p.phase === 'collect');
    expect(collect1[0]).toMatchObject({ done: 0, total: 3 });
    expect(collect1[collect1.length - 1]).toMatchObject({ done: 3, total: 3, estimate: { fraction: 1, etaMs: 0 } });
    expect(collect1.some((p) => p.done > 0 && p.done < 3 && p.estimate.etaMs !== null && p.estimate.etaMs > 0)).toBe(true);
    expect(s.progress.some((p) => p.phase === 'train' && /step 2 of 2, loss 0.500/.test(p.message))).toBe(true);
  });

  it("mixes the kind's meta-skill corpus into every round, a fresh window per round, and trains its own step chats", async () => {
    const registry = createKindRegistry();
    const asked: { mix: MetaMix; round: number }[] = [];
    registry.register({
      kind: 'math',
      label: 'math with a corpus',
      templates: PLAIN_TEMPLATES,
      check: checkBuiltinTask,
      metaSkillRows: (mix, round) => {
        asked.push({ mix, round });
        return Array.from({ length: mix.feedback }, (_, i) => ({ messages: [{ role: 'user' as const, content: `corpus ${round}.${i}` }, { role: 'assistant' as const, content: 'x' }] }));
      },
    });
    const s = setup({ metaSkill: null, registry, shapes: ['sft', 'step-chats'], metaMix: { feedback: 2, refine: 1, seed: 9 } });
    await runSelfEvolution(s.options);
    expect(asked).toEqual([{ mix: { feedback: 2, refine: 1, seed: 9 }, round: 1 }, { mix: { feedback: 2, refine: 1, seed: 9 }, round: 2 }]);
    const users = s.trainer.calls.map((c) => c.rows.map((r) => ('messages' in r ? r.messages[0].content : '')));
    expect(users[0].slice(-2)).toEqual(['corpus 1.0', 'corpus 1.1']);
    expect(users[1].slice(-2)).toEqual(['corpus 2.0', 'corpus 2.1']);
    // Round 1's own rows: per task (40 → 41 → 42), the answer, then its feedback and refinement calls.
    expect(users[0].filter((u) => u.startsWith('DRAFT '))).toHaveLength(3);
    expect(users[0].filter((u) => u.startsWith('FEEDBACK '))).toHaveLength(9);
    expect(users[0].filter((u) => u.startsWith('REFINE '))).toHaveLength(6);
    expect(s.metrics[1].collect?.rows).toBe(3 + 9 + 6);
    expect(s.metrics[1].train?.rows).toBe(3 + 9 + 6 + 2);
    expect(metaMixRows(registry, TASKS, null, 1)).toEqual([]);
  });

  it('skips training when the filter keeps nothing', async () => {
    const s = setup({ metaSkill: null, rounds: 1, filter: { minFinalScore: 11 } });
    const r = await runSelfEvolution(s.options);
    expect(s.trainer.calls).toHaveLength(0);
    expect(r.adapterId).toBeNull();
    expect(s.metrics[1].train).toEqual({ rows: 0, metrics: {}, skipped: true });
  });

  it('aborts at any point and resumes from the checkpoint and stored steps to the same result', async () => {
    const full = setup();
    await runSelfEvolution(full.options);
    const totalCalls = full.engine.calls.length + full.critic.calls.length;

    for (const cutAfterSteps of [4, 17, 30, 45, 70]) {
      const controller = new AbortController();
      const a = setup({ signal: controller.signal });
      const save = a.options.store.saveStep;
      a.options.store = { ...a.options.store, saveStep: async (st) => { await save(st); if (a.steps.length === cutAfterSteps) controller.abort(); } };
      await expect(runSelfEvolution(a.options)).rejects.toMatchObject({ code: 'aborted' });
      const cp = a.checkpoints[a.checkpoints.length - 1];

      const b = setup();
      b.steps.push(...a.steps);
      b.metrics.push(...a.metrics);
      const resumed = await runSelfEvolution({ ...b.options, resume: { checkpoint: cp, steps: a.steps } });
      expect(resumed.history).toEqual(full.metrics);
      expect(b.metrics).toEqual(full.metrics);
      // Nothing finished before the abort is generated again.
      expect(a.engine.calls.length + a.critic.calls.length + b.engine.calls.length + b.critic.calls.length, `cut ${cutAfterSteps}`).toBe(totalCalls);
      expect(b.steps.length).toBe(full.steps.length);
    }
  });

  it('an abort during training resumes by training again from the same adapter', async () => {
    const a = setup();
    a.trainer.abortOn = 'SELF round 2';
    await expect(runSelfEvolution(a.options)).rejects.toMatchObject({ code: 'aborted' });
    const cp = a.checkpoints[a.checkpoints.length - 1];
    expect(cp).toMatchObject({ round: 2, phase: 'train', adapterId: 'ad-SELF round 1' });
    const b = setup();
    const r = await runSelfEvolution({ ...b.options, resume: { checkpoint: cp, steps: a.steps } });
    expect(b.trainer.calls.map((c) => [c.label, c.fromAdapterId])).toEqual([['SELF round 2', 'ad-SELF round 1']]);
    expect(r.adapterId).toBe('ad-SELF round 2');
    expect(b.engine.calls.filter((c) => callKind(c) !== 'other').length).toBeGreaterThan(0); // evaluation only
    expect(b.steps.every((x) => x.evolutionRound === 2 && x.loopId.includes('/eval-'))).toBe(true);
  });

  it('refuses bad settings', async () => {
    await expect(runSelfEvolution({ ...setup().options, rounds: -1 })).rejects.toMatchObject({ code: 'bad-input' });
    await expect(runSelfEvolution({ ...setup().options, tasks: TASKS.filter((t) => t.split === 'eval') })).rejects.toThrow(/train split/);
    const s = setup();
    const cp: SelfCheckpoint = { runId: 'other', round: 1, phase: 'collect', adapterId: null, lastTrain: null, lastCollect: null, history: [] };
    await expect(runSelfEvolution({ ...s.options, resume: { checkpoint: cp, steps: [] } })).rejects.toThrow(/belongs to run other/);
  });

  it('refuses an actor that cannot apply adapters before anything is collected, trained or stored', async () => {
    const s = setup();
    const chatOnly = new ScriptedEngine({ script: actor, batch: true });
    // @ts-expect-error SELF's parameter type asks for an engine with the `adapters` capability.
    const run = runSelfEvolution({ ...s.options, engine: chatOnly });
    await expect(run).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('SELF needs the tfjs engine') });
    expect(chatOnly.calls).toEqual([]);
    expect(s.critic.calls).toEqual([]);
    expect(s.trainer.calls).toEqual([]);
    expect([s.steps, s.checkpoints, s.metrics, s.progress]).toEqual([[], [], [], []]);
  });
});
