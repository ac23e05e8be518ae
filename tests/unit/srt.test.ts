import { describe, expect, it } from 'vitest';
import { ScriptedAdapterEngine, ScriptedEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { runSrt, sftRowsText, type SrtCheckpoint, type SrtOptions } from '../../src/core/refine/srt.ts';
import type { Trainer, TrainRequest } from '../../src/core/train/trainer.ts';
import type { PreferenceRow, PromptCompletionRow } from '../../src/core/train/trl.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import { answerUnderReview, callKind, mathTask, PLAIN_TEMPLATES } from './refine-helpers.ts';

/** The actor drafts 40 (42 once DPO-trained); the critic names the error and refines to 42. */
const actor = (req: ChatRequest) => (callKind(req) === 'draft' ? (req.adapterId === 'ad-SRT DPO' ? '#### 42' : '#### 40') : 'unexpected');
const critic = (req: ChatRequest) => {
  if (callKind(req) === 'refine') return 'Fixed: 40 + 2 = 42.\n#### 42';
  const got = /####\s*(\d+)/.exec(answerUnderReview(req))?.[1];
  return got === '42' ? 'Score: 10/10\nVerdict: correct\nNO ISSUES' : `Weaknesses:\n- forgot to add 2\nSuggestions:\n- add 2\nScore: 4/10\nVerdict: incorrect`;
};

class FakeTrainer implements Trainer<string> {
  calls: TrainRequest<string>[] = [];
  async train(req: TrainRequest<string>) {
    this.calls.push(req);
    req.onProgress?.({ step: 1, totalSteps: 1, loss: 0.7 });
    return { adapterId: `ad-${req.label}`, metrics: { loss: 0.7 } };
  }
}

const TASKS = [mathTask('a', 42), mathTask('b', 42), mathTask('e', 42, 'eval')];

function setup(extra: Partial<SrtOptions<string>> = {}) {
  const steps: StepRecord[] = [];
  const checkpoints: SrtCheckpoint[] = [];
  const a = new ScriptedAdapterEngine({ script: actor, modelId: 'small' });
  const c = new ScriptedEngine({ script: critic, modelId: 'large' });
  const trainer = new FakeTrainer();
  const options: SrtOptions<string> = {
    runId: 'srt1',
    tasks: TASKS,
    actor: a,
    critic: c,
    trainer,
    sftConfig: 'sft-config',
    dpoConfig: 'dpo-config',
    templates: PLAIN_TEMPLATES,
    evaluate: true,
    store: { saveStep: async (s) => void steps.push(s), saveCheckpoint: async (cp) => void checkpoints.push(cp) },
    ...extra,
  };
  return { options, steps, checkpoints, a, c, trainer };
}

describe('SRT', () => {
  it('critic feedback + refinement → SFT on feedback-then-refinement → DPO on refined ≻ initial → evaluation', async () => {
    const s = setup();
    const cp = await runSrt(s.options);
    // The actor only drafts; the critic critiques and refines.
    expect(s.a.calls.filter((r) => callKind(r) !== 'draft')).toEqual([]);
    // Loops run in lock-step: both feedbacks, both refinements, both final feedbacks.
    expect(s.c.calls.map(callKind)).toEqual(['feedback', 'feedback', 'refine', 'refine', 'feedback', 'feedback']);
    const loopA = s.steps.filter((x) => x.loopId === 'srt1/collect/a');
    expect(loopA.map((x) => [x.kind, x.modelId, x.source])).toEqual([
      ['draft', 'small', 'self'],
      ['feedback', 'large', 'critic'],
      ['refinement', 'large', 'critic'],
      ['feedback', 'large', 'critic'],
    ]);

    expect(s.trainer.calls.map((c) => [c.method, c.label, c.fromAdapterId, c.config, c.rows.length])).toEqual([
      ['sft', 'SRT SFT', null, 'sft-config', 2],
      ['dpo', 'SRT DPO', 'ad-SRT SFT', 'dpo-config', 2],
    ]);
    const sftRow = s.trainer.calls[0].rows[0] as PromptCompletionRow;
    expect(sftRow.prompt[0].content).toBe(`META ${TASKS[0].prompt}\nDRAFT: #### 40`);
    expect(sftRow.completion[0].content).toBe('Weaknesses:\n- forgot to add 2\nSuggestions:\n- add 2\nScore: 4/10\nVerdict: incorrect\nBETTER: Fixed: 40 + 2 = 42.\n#### 42');
    const pair = s.trainer.calls[1].rows[0] as PreferenceRow;
    expect(pair.chosen[0].content).toBe('Fixed: 40 + 2 = 42.\n#### 42');
    expect(pair.rejected[0].content).toBe('#### 40');

    expect(cp).toMatchObject({ phase: 'done', sftAdapterId: 'ad-SRT SFT', dpoAdapterId: 'ad-SRT DPO' });
    expect(cp.metrics).toEqual({
      loops: 2, kept: 2, improved: 2, sftRows: 2, preferencePairs: 2, sft: { loss: 0.7 }, dpo: { loss: 0.7 }, accuracy: { start: 0, sft: 0, dpo: 1 },
      collectCutOff: { answers: 4, answersCut: 0, feedback: 4, feedbackCut: 0 },
      evalCutOff: { start: { n: 1, cutOff: 0 }, sft: { n: 1, cutOff: 0 }, dpo: { n: 1, cutOff: 0 } },
    });
    expect(s.checkpoints.map((c) => c.phase)).toEqual(['collect', 'sft', 'dpo', 'evaluate', 'done']);
    expect(s.steps.filter((x) => x.kind === 'evaluation').map((x) => [x.loopId, x.adapterId, x.score])).toEqual([
      ['srt1/eval-start/e', null, 0],
      ['srt1/eval-sft/e', 'ad-SRT SFT', 0],
      ['srt1/eval-dpo/e', 'ad-SRT DPO', 1],
    ]);
  });

  it('optionally also trains prompt → refinement, and can skip DPO', async () => {
    const s = setup({ sftShapes: ['meta', 'sft'], dpo: false, evaluate: false });
    const cp = await runSrt(s.options);
    expect(s.trainer.calls.map((c) => [c.method, c.rows.length])).toEqual([['sft', 4]]);
    expect(cp).toMatchObject({ phase: 'done', dpoAdapterId: null });
  });

  it("the SFT progress line names the variant's rows (refinement-only is not called feedback-then-refinement)", async () => {
    const sftLine = async (sftShapes: SrtOptions<string>['sftShapes']) => {
      const messages: string[] = [];
      await runSrt({ ...setup({ sftShapes, dpo: false, evaluate: false }).options, onProgress: (p) => void messages.push(p.message) });
      return messages.find((m) => m.startsWith('SFT on '));
    };
    expect(await sftLine(undefined)).toBe('SFT on 2 feedback-then-refinement rows');
    expect(await sftLine(['refine-only'])).toBe('SFT on 2 refinement-only (no feedback text) rows');
    expect(await sftLine(['meta', 'sft'])).toBe('SFT on 4 feedback-then-refinement and prompt → refinement rows');
    expect(sftRowsText(['step-chats', 'meta'])).toBe('feedback-then-refinement');
  });

  it('DPO steps report their margin and log-probabilities in the progress line', async () => {
    const s = setup({ evaluate: false });
    s.trainer.train = async (req) => {
      s.trainer.calls.push(req);
      req.onProgress?.({ step: 1, totalSteps: 1, loss: 0.6931, ...(req.method === 'dpo' ? { dpo: { pairs: 2, margin: 0, accuracy: 0, policyChosen: -10.5, policyRejected: -12, refChosen: -10.5, refRejected: -12 } } : {}) });
      return { adapterId: `ad-${req.label}`, metrics: { loss: 0.6931 } };
    };
    const messages: string[] = [];
    await runSrt({ ...s.options, onProgress: (p) => void messages.push(p.message) });
    expect(messages).toContain('SFT step 1 of 1, loss 0.693');
    expect(messages).toContain('DPO step 1 of 1, loss 0.693, margin 0.00, chosen log p −10.50 (ref −10.50), rejected −12.00 (ref −12.00), 0% preferred');
  });

  it('no improvement means no rows: training is skipped, not faked', async () => {
    const s = setup({ critic: new ScriptedEngine({ script: () => 'NO ISSUES', modelId: 'large' }) });
    const cp = await runSrt(s.options);
    expect(s.trainer.calls).toEqual([]);
    expect(cp.metrics).toMatchObject({ improved: 0, sftRows: 0, preferencePairs: 0, accuracy: { start: 0, sft: null, dpo: null } });
    expect(cp).toMatchObject({ sftAdapterId: null, dpoAdapterId: null });
  });

  it('resumes after an abort in the collect phase without redoing stored steps', async () => {
    const full = setup();
    await runSrt(full.options);
    const controller = new AbortController();
    const a = setup({ signal: controller.signal });
    a.options.store = { ...a.options.store, saveStep: async (st) => { a.steps.push(st); if (a.steps.length === 3) controller.abort(); } };
    await expect(runSrt(a.options)).rejects.toMatchObject({ code: 'aborted' });
    const b = setup();
    const cp = await runSrt({ ...b.options, resume: { checkpoint: a.checkpoints[a.checkpoints.length - 1], steps: a.steps } });
    expect(cp.metrics).toEqual((full.checkpoints[full.checkpoints.length - 1]).metrics);
    expect(a.steps.length + b.steps.length).toBe(full.steps.length);
  });

  it('refuses a critic that is the actor, and a task set without train tasks', async () => {
    const s = setup();
    await expect(runSrt({ ...s.options, critic: s.a })).rejects.toThrow(/critic different from the actor/);
    await expect(runSrt({ ...s.options, tasks: [TASKS[2]] })).rejects.toThrow(/train split/);
  });

  it('refuses an actor that cannot apply adapters before the critic is asked or anything is trained or stored', async () => {
    const s = setup();
    const chatOnly = new ScriptedEngine({ script: actor, modelId: 'small' });
    // @ts-expect-error SRT's parameter type asks for an actor with the `adapters` capability.
    await expect(runSrt({ ...s.options, actor: chatOnly })).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('SRT needs the tfjs engine') });
    expect([chatOnly.calls, s.c.calls, s.trainer.calls, s.steps, s.checkpoints]).toEqual([[], [], [], [], []]);
  });
});
