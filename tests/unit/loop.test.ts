import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { AppError } from '../../src/core/errors.ts';
import { runSelfRefine, runSelfRefineBatch, type SelfRefineOptions } from '../../src/core/refine/loop.ts';
import type { StopRules } from '../../src/core/refine/plan.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import {
  answerUnderReview,
  attemptsQuoted,
  callKind,
  fakeClock,
  mathTask,
  openTask,
  PLAIN_TEMPLATES,
  withoutTimes,
} from './refine-helpers.ts';

const STOP: StopRules = { maxRounds: 3, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true };

/**
 * A scripted "model" for a math task whose answer is 42: the draft says 40, each refinement adds 1 for every
 * attempt it sees, and the feedback scores the answer by its distance from 42 (NO ISSUES at 42).
 */
function mathScript(req: ChatRequest): string {
  switch (callKind(req)) {
    case 'draft':
      return 'I think it is 40.\n#### 40';
    case 'refine': {
      const n = 40 + attemptsQuoted(req);
      return `Fixed the sum.\n#### ${n}`;
    }
    case 'feedback': {
      const m = /####\s*(\d+)/.exec(answerUnderReview(req));
      const got = m ? Number(m[1]) : 0;
      if (got === 42) return 'Weaknesses: none\nScore: 10/10\nVerdict: correct\nNO ISSUES';
      return `Weaknesses:\n- The total ${got} is off.\nSuggestions:\n- Add again.\nScore: ${10 - (42 - got) * 2}/10\nVerdict: incorrect`;
    }
    default:
      throw new Error('unexpected call');
  }
}

function base(engine: ScriptedEngine, extra: Partial<SelfRefineOptions> = {}): SelfRefineOptions & { stored: StepRecord[] } {
  const stored: StepRecord[] = [];
  return {
    task: mathTask('m1', 42),
    loopId: 'loop-1',
    engine,
    templates: PLAIN_TEMPLATES,
    params: { temperature: 0, seed: 7, maxTokens: 200 },
    stop: STOP,
    now: fakeClock(),
    onStep: async (s) => {
      stored.push(s);
    },
    stored,
    ...extra,
  };
}

describe('runSelfRefine', () => {
  it('drafts, critiques and refines until the feedback finds nothing to fix, carrying the history', async () => {
    const engine = new ScriptedEngine({ script: mathScript, now: fakeClock() });
    const opts = base(engine);
    const res = await runSelfRefine(opts);
    expect(res.stopReason).toBe('no-issues');
    expect(res.finalAnswer).toContain('#### 42');
    expect(res.rounds).toBe(2);
    expect(res.finalScore).toBe(10);
    expect(opts.stored.map((s) => `${s.kind}${s.refineRound}`)).toEqual(['draft0', 'feedback0', 'refinement1', 'feedback1', 'refinement2', 'feedback2']);
    expect(res.steps).toEqual(opts.stored);

    // The second refinement's prompt quotes both earlier attempts and their feedback.
    const refine2 = opts.stored[4].prompt[0].content;
    expect(refine2).toContain('[attempt 1] I think it is 40.');
    expect(refine2).toContain('[feedback 1] Weaknesses:\n- The total 40 is off.');
    expect(refine2).toContain('[attempt 2] Fixed the sum.\n#### 41');
    expect(refine2).toContain('[feedback 2] Weaknesses:\n- The total 41 is off.');

    const fb0 = opts.stored[1];
    expect(fb0.feedback).toEqual({ weaknesses: ['The total 40 is off.'], suggestions: ['Add again.'], score: 6, verdict: 'incorrect', noIssues: false });
    expect(fb0.parseStatus).toBe('ok');
    expect(fb0.score).toBe(6);
    expect(fb0.source).toBe('self');
    const d = opts.stored[0];
    expect(d).toMatchObject({ engine: 'openai', modelId: 'scripted-model', adapterId: null, seed: 7, source: 'self', evolutionRound: 0, parseStatus: 'n/a', feedback: null, score: null });
    expect(d.prompt).toEqual([{ role: 'user', content: `DRAFT ${opts.task.prompt}` }]);
    expect(d.completionTokens).toBe(7);
    expect(d.promptTokens).toBeGreaterThan(0);
    // Sampling settings reach the engine.
    expect(engine.calls[0]).toMatchObject({ temperature: 0, seed: 7, maxTokens: 200, adapterId: null });
  });

  it('waits for onStep before making the next call', async () => {
    const engine = new ScriptedEngine({ script: mathScript });
    const log: string[] = [];
    const opts = base(engine, {
      onStep: async (s) => {
        log.push(`store ${s.kind} (calls so far ${engine.calls.length})`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`stored ${s.kind}`);
      },
    });
    await runSelfRefine(opts);
    // Each store finished before the engine was called again.
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i + 1]).toBe(`stored ${log[i].split(' ')[1]}`);
      expect(log[i]).toContain(`calls so far ${i / 2 + 1}`);
    }
  });

  it('stops when the score reaches the threshold', async () => {
    const engine = new ScriptedEngine({ script: mathScript });
    const opts = base(engine, { stop: { ...STOP, scoreThreshold: 8, stopOnNoIssues: false } });
    const res = await runSelfRefine(opts);
    expect(res.stopReason).toBe('score-threshold');
    expect(res.rounds).toBe(1);
    expect(res.finalScore).toBe(8);
  });

  it('stops at the round limit, after feedback on the last refinement', async () => {
    const engine = new ScriptedEngine({ script: mathScript });
    const opts = base(engine, { stop: { ...STOP, maxRounds: 1 } });
    const res = await runSelfRefine(opts);
    expect(res.stopReason).toBe('max-rounds');
    expect(opts.stored.map((s) => s.kind)).toEqual(['draft', 'feedback', 'refinement', 'feedback']);
    const zero = await runSelfRefine(base(new ScriptedEngine({ script: mathScript }), { stop: { ...STOP, maxRounds: 0 } }));
    expect(zero.stopReason).toBe('max-rounds');
    expect(zero.steps.map((s) => s.kind)).toEqual(['draft', 'feedback']);
  });

  it('stops when a refinement no longer changes the answer (whitespace aside), without more feedback', async () => {
    const engine = new ScriptedEngine({
      script: (req) => (callKind(req) === 'feedback' ? 'Score: 3/10\nVerdict: incorrect' : callKind(req) === 'draft' ? 'The answer is 7.' : '  The answer   is 7.\n'),
    });
    const opts = base(engine);
    const res = await runSelfRefine(opts);
    expect(res.stopReason).toBe('unchanged');
    expect(opts.stored.map((s) => s.kind)).toEqual(['draft', 'feedback', 'refinement']);
    expect(res.finalScore).toBe(3); // the score of the equal answer before it
    // With the rule off, it keeps going to the round limit.
    const off = await runSelfRefine(base(engine, { stop: { ...STOP, stopOnUnchanged: false } }));
    expect(off.stopReason).toBe('max-rounds');
  });

  it('stores unparsable feedback as such, keeps refining, and stops after two in a row', async () => {
    let feedbacks = 0;
    const engine = new ScriptedEngine({
      script: (req) => {
        const k = callKind(req);
        if (k === 'draft') return 'draft 40';
        if (k === 'refine') return `attempt ${attemptsQuoted(req)}`;
        feedbacks++;
        return feedbacks === 2 ? 'Score: 5/10\nVerdict: incorrect' : 'hmm, well, I like turtles';
      },
    });
    const opts = base(engine, { stop: { ...STOP, maxRounds: 5 } });
    const res = await runSelfRefine(opts);
    expect(res.stopReason).toBe('feedback-unparsable');
    const fbs = opts.stored.filter((s) => s.kind === 'feedback');
    expect(fbs.map((f) => f.parseStatus)).toEqual(['unparsed', 'ok', 'unparsed', 'unparsed']);
    expect(fbs[0]).toMatchObject({ feedback: null, score: null, text: 'hmm, well, I like turtles' });
    // The unparsed critique is still quoted to the refiner as written.
    expect(opts.stored[2].prompt[0].content).toContain('[feedback 1] hmm, well, I like turtles');
    // A single unparsable feedback does not stop anything.
    expect(res.rounds).toBe(3);
  });

  it('aborts mid-generation: throws "aborted", stores nothing partial, keeps what was stored', async () => {
    const controller = new AbortController();
    const engine = new ScriptedEngine({ script: mathScript });
    let tokens = 0;
    const opts = base(engine, {
      signal: controller.signal,
      onToken: (_d, call) => {
        if (call.kind === 'refinement' && ++tokens === 2) controller.abort();
      },
    });
    const err = await runSelfRefine(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('aborted');
    expect(opts.stored.map((s) => s.kind)).toEqual(['draft', 'feedback']);
  });

  it('aborts between steps (mid-round) before the next call', async () => {
    const controller = new AbortController();
    const engine = new ScriptedEngine({ script: mathScript });
    const stored: StepRecord[] = [];
    const opts = base(engine, {
      signal: controller.signal,
      onStep: async (s) => {
        stored.push(s);
        if (s.kind === 'draft') controller.abort();
      },
    });
    await expect(runSelfRefine(opts)).rejects.toMatchObject({ code: 'aborted' });
    expect(stored.map((s) => s.kind)).toEqual(['draft']);
    expect(engine.calls).toHaveLength(1);
  });

  it('resumes from the stored steps of an interrupted run and ends exactly like an uninterrupted one', async () => {
    const full = base(new ScriptedEngine({ script: mathScript }));
    const expected = await runSelfRefine(full);

    for (const cutAfter of [1, 2, 3, 4, 5]) {
      const controller = new AbortController();
      const first = base(new ScriptedEngine({ script: mathScript }), { signal: controller.signal });
      first.onStep = async (s) => {
        first.stored.push(s);
        if (first.stored.length === cutAfter) controller.abort();
      };
      await expect(runSelfRefine(first)).rejects.toMatchObject({ code: 'aborted' });
      expect(first.stored).toHaveLength(cutAfter);

      // A fresh engine, as after a reload; the stored steps come back in a different order.
      const engine2 = new ScriptedEngine({ script: mathScript });
      const second = base(engine2, { resumeFrom: [...first.stored].reverse() });
      const res = await runSelfRefine(second);
      expect(engine2.calls).toHaveLength(expected.steps.length - cutAfter);
      expect(second.stored).toHaveLength(expected.steps.length - cutAfter);
      expect(withoutTimes(res.steps)).toEqual(withoutTimes(expected.steps));
      expect(res.stopReason).toBe(expected.stopReason);
      expect(res.finalAnswer).toBe(expected.finalAnswer);
    }

    // A finished loop resumes to its result without calling anything.
    const engine3 = new ScriptedEngine({ script: mathScript });
    const done = await runSelfRefine(base(engine3, { resumeFrom: expected.steps }));
    expect(engine3.calls).toHaveLength(0);
    expect(done.stopReason).toBe('no-issues');
  });

  it('refuses to resume from steps that do not fit the settings or belong to another loop', async () => {
    const full = await runSelfRefine(base(new ScriptedEngine({ script: mathScript })));
    const engine = new ScriptedEngine({ script: mathScript });
    // Settings changed: with the oracle replacing feedback, a stored model feedback cannot be there.
    await expect(runSelfRefine(base(engine, { resumeFrom: full.steps, oracle: 'replace' }))).rejects.toMatchObject({ code: 'bad-input' });
    await expect(runSelfRefine(base(engine, { loopId: 'other', resumeFrom: full.steps }))).rejects.toThrow(/Cannot resume loop other/);
    // A gap (feedback missing) is refused.
    const gap = full.steps.filter((_, i) => i !== 1);
    await expect(runSelfRefine(base(engine, { resumeFrom: gap }))).rejects.toThrow(/do not fit/);
    expect(engine.calls).toHaveLength(0);
  });

  it('step-through: the gate is awaited before every engine call and holds the loop while paused', async () => {
    const engine = new ScriptedEngine({ script: mathScript });
    const seen: string[] = [];
    let release: (() => void) | null = null;
    const opts = base(engine, {
      oracle: 'accompany',
      gate: (next) => {
        seen.push(`${next.kind}${next.refineRound}:${next.role}`);
        expect(next.messages.length).toBeGreaterThan(0);
        return new Promise<void>((r) => (release = r));
      },
    });
    let settled = false;
    const run = runSelfRefine(opts).finally(() => (settled = true));
    const tick = () => new Promise((r) => setTimeout(r, 2));
    let releases = 0;
    while (!settled) {
      await tick();
      if (!release) continue;
      const callsBefore = engine.calls.length;
      await tick();
      await tick();
      expect(engine.calls.length).toBe(callsBefore); // paused: nothing is called while the gate is closed
      const r = release as () => void;
      release = null;
      releases++;
      r();
    }
    expect(releases).toBe(6);
    const res = await run;
    expect(res.stopReason).toBe('oracle-pass');
    // The oracle checks call no engine, so the gate never sees them.
    expect(seen).toEqual(['draft0:actor', 'feedback0:actor', 'refinement1:actor', 'feedback1:actor', 'refinement2:actor', 'feedback2:actor']);
  });

  it('uses a separate critic for feedback (source "critic"), and optionally for refinements', async () => {
    const actor = new ScriptedEngine({ script: mathScript, modelId: 'small' });
    const critic = new ScriptedEngine({ script: mathScript, modelId: 'big' });
    const opts = base(actor, { critic, criticAdapterId: null, adapterId: 'adapter-1' });
    await runSelfRefine(opts);
    expect(actor.calls.map(callKind)).toEqual(['draft', 'refine', 'refine']);
    expect(critic.calls.map(callKind)).toEqual(['feedback', 'feedback', 'feedback']);
    expect(actor.calls.every((c) => c.adapterId === 'adapter-1')).toBe(true);
    const fb = opts.stored.filter((s) => s.kind === 'feedback');
    expect(fb.every((s) => s.source === 'critic' && s.modelId === 'big' && s.adapterId === null)).toBe(true);
    expect(opts.stored.filter((s) => s.kind !== 'feedback').every((s) => s.source === 'self' && s.modelId === 'small')).toBe(true);

    const actor2 = new ScriptedEngine({ script: mathScript, modelId: 'small' });
    const critic2 = new ScriptedEngine({ script: mathScript, modelId: 'big' });
    const srt = base(actor2, { critic: critic2, refiner: 'critic' });
    await runSelfRefine(srt);
    expect(actor2.calls.map(callKind)).toEqual(['draft']);
    expect(srt.stored.find((s) => s.kind === 'refinement')).toMatchObject({ modelId: 'big', source: 'critic' });
    await expect(runSelfRefine(base(actor2, { refiner: 'critic' }))).rejects.toMatchObject({ code: 'bad-input' });
  });

  it('oracle: a labelled checker source that accompanies or replaces model feedback, never revealing the answer', async () => {
    // The model claims every answer is fine; only the oracle knows 40 and 41 are wrong.
    const flattering = (req: ChatRequest) =>
      callKind(req) === 'feedback' ? 'Looks correct. NO ISSUES. Score: 10/10' : mathScript(req);
    const withOracle = base(new ScriptedEngine({ script: flattering }), { oracle: true });
    const res = await runSelfRefine(withOracle);
    expect(res.stopReason).toBe('oracle-pass');
    expect(res.finalOraclePass).toBe(true);
    expect(withOracle.stored.map((s) => `${s.kind}${s.refineRound}`)).toEqual([
      'draft0', 'feedback0', 'oracle0', 'refinement1', 'feedback1', 'oracle1', 'refinement2', 'feedback2', 'oracle2',
    ]);
    const o = withOracle.stored[2];
    expect(o).toMatchObject({ kind: 'oracle', source: 'oracle', engine: 'oracle', modelId: 'checker', prompt: [], parseStatus: 'ok', score: 1 });
    expect(o.text).toMatch(/^Automatic check \(by the program, not a model\): FAIL/);
    expect(o.text).not.toContain('42');
    expect(o.feedback?.verdict).toBe('incorrect');
    // Both sources reach the refiner, labelled.
    expect(withOracle.stored[3].prompt[0].content).toContain('Looks correct. NO ISSUES.');
    expect(withOracle.stored[3].prompt[0].content).toContain('Automatic check (by the program, not a model): FAIL');
    // Without the oracle the flattering critic stops the loop at once.
    const without = await runSelfRefine(base(new ScriptedEngine({ script: flattering })));
    expect(without.stopReason).toBe('no-issues');
    expect(without.rounds).toBe(0);

    // Replace: no model feedback calls at all.
    const engine = new ScriptedEngine({ script: flattering });
    const replaced = base(engine, { oracle: 'replace' });
    const r2 = await runSelfRefine(replaced);
    expect(engine.calls.map(callKind)).toEqual(['draft', 'refine', 'refine']);
    expect(r2.stopReason).toBe('oracle-pass');
    expect(replaced.stored.map((s) => s.kind)).toEqual(['draft', 'oracle', 'refinement', 'oracle', 'refinement', 'oracle']);
  });

  it('oracle on a task without a checker: accompany is skipped, replace is refused', async () => {
    const engine = new ScriptedEngine({ script: mathScript });
    const res = await runSelfRefine(base(engine, { task: openTask('o1'), oracle: true }));
    expect(res.steps.some((s) => s.kind === 'oracle')).toBe(false);
    await expect(runSelfRefine(base(engine, { task: openTask('o1'), oracle: 'replace' }))).rejects.toThrow(/has no checker/);
  });

  it('rejects bad settings and surfaces engine errors as they are', async () => {
    const unloaded = new ScriptedEngine({ script: mathScript, modelId: null });
    await expect(runSelfRefine(base(unloaded))).rejects.toThrow(/no model loaded/);
    await expect(runSelfRefine(base(new ScriptedEngine({ script: mathScript }), { stop: { ...STOP, maxRounds: -1 } }))).rejects.toMatchObject({ code: 'bad-input' });
    await expect(runSelfRefine(base(new ScriptedEngine({ script: mathScript }), { stop: { ...STOP, scoreThreshold: 11 } }))).rejects.toMatchObject({ code: 'bad-input' });
    const failing = new ScriptedEngine({ script: ['#### 1', new AppError('device-lost', 'The GPU was lost. Reload the page.')] });
    const opts = base(failing);
    await expect(runSelfRefine(opts)).rejects.toMatchObject({ code: 'device-lost' });
    expect(opts.stored.map((s) => s.kind)).toEqual(['draft']);
  });
});

describe('runSelfRefineBatch', () => {
  it('runs loops in lock-step with chatBatch and writes the same steps as one-by-one loops', async () => {
    const tasks = [mathTask('a', 42), mathTask('b', 42), mathTask('c', 42)];
    const batchEngine = new ScriptedEngine({ script: mathScript, batch: true });
    const stored: StepRecord[] = [];
    const done: string[] = [];
    const results = await runSelfRefineBatch({
      loops: tasks.map((task) => ({ task, loopId: `L-${task.id}` })),
      engine: batchEngine,
      templates: PLAIN_TEMPLATES,
      params: { seed: 1 },
      stop: STOP,
      oracle: true,
      now: fakeClock(),
      onStep: async (s) => {
        stored.push(s);
      },
      onLoopDone: (r) => {
        done.push(r.loopId);
      },
    });
    // 6 waves of 3 calls (draft, feedback, refine, feedback, refine, feedback), each one chatBatch call.
    expect(batchEngine.batchCalls).toBe(6);
    expect(batchEngine.calls).toHaveLength(18);
    expect(done.sort()).toEqual(['L-a', 'L-b', 'L-c']);
    for (const [i, task] of tasks.entries()) {
      const single = await runSelfRefine({
        ...base(new ScriptedEngine({ script: mathScript }), { task, loopId: `L-${task.id}`, oracle: true, params: { seed: 1 } }),
      });
      expect(withoutTimes(results[i].steps)).toEqual(withoutTimes(single.steps));
      expect(withoutTimes(stored.filter((s) => s.loopId === `L-${task.id}`))).toEqual(withoutTimes(single.steps));
    }
  });

  it('sends at most batchSize requests per chatBatch call', async () => {
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((id) => mathTask(id, 42));
    const engine = new ScriptedEngine({ script: mathScript, batch: true });
    const sizes: number[] = [];
    const inner = engine.chatBatch!;
    (engine as { chatBatch?: typeof inner }).chatBatch = async (reqs) => {
      sizes.push(reqs.length);
      return inner(reqs);
    };
    await runSelfRefineBatch({ loops: tasks.map((task) => ({ task, loopId: task.id })), engine, templates: PLAIN_TEMPLATES, stop: { ...STOP, maxRounds: 0 }, batchSize: 2, onStep: async () => {} });
    // Drafts: 2 + 2 + 1 (the last alone goes through chat); feedbacks the same.
    expect(sizes).toEqual([2, 2, 2, 2]);
    expect(engine.calls).toHaveLength(10);
  });

  it('falls back to sequential calls, resumes loops, and aborts', async () => {
    const tasks = [mathTask('a', 42), mathTask('b', 42)];
    const engine = new ScriptedEngine({ script: mathScript });
    const controller = new AbortController();
    const stored: StepRecord[] = [];
    const opts = {
      loops: tasks.map((task) => ({ task, loopId: `L-${task.id}` })),
      engine,
      templates: PLAIN_TEMPLATES,
      stop: STOP,
      signal: controller.signal,
      onStep: async (s: StepRecord) => {
        stored.push(s);
        if (stored.length === 5) controller.abort();
      },
    };
    await expect(runSelfRefineBatch(opts)).rejects.toMatchObject({ code: 'aborted' });
    expect(stored).toHaveLength(5);
    const engine2 = new ScriptedEngine({ script: mathScript });
    const resumed = await runSelfRefineBatch({
      ...opts,
      engine: engine2,
      signal: undefined,
      onStep: async (s) => {
        stored.push(s);
      },
      loops: tasks.map((task) => ({ task, loopId: `L-${task.id}`, resumeFrom: stored.filter((s) => s.taskId === task.id) })),
    });
    expect(resumed.map((r) => r.stopReason)).toEqual(['no-issues', 'no-issues']);
    expect(stored).toHaveLength(12);
    expect(engine2.calls).toHaveLength(7);
  });
});
