/**
 * Classroom readiness (issue 11), the parts that run in Node: presentation mode's keys and story stages, the
 * accuracy-per-round series, an engine slot that loads the experiment's model once when Run is pressed (and
 * waits for a load already under way), and the choices that cannot load without the person.
 */
import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import { EngineSlot } from '../../src/ui/engines/engine-slot.ts';
import { loadingText, needsPerson } from '../../src/ui/engines/auto-load.ts';
import { accuracySeries, beforeAfter, presentKey, previousAnswer, stepTitle, storyStage } from '../../src/ui/present/present-story.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import type { RunMetricPoint } from '../../src/db/types.ts';
import { summarizeBatchLoops, summaryFacts } from '../../src/ui/playground/batch-summary.ts';
import { CLASSROOM_ROUND, CLASSROOM_ROUND_NOTE, classroomRoundSettings, isClassroomRound } from '../../src/ui/self/classroom-round.ts';
import { toySelfSettings, validateSelfSettings } from '../../src/ui/self/self-settings.ts';
import type { LoopSummary } from '../../src/core/refine/samples.ts';

const toy = { kind: 'tfjs', model: { from: 'embedded', id: 'toy-arith' }, backend: 'auto' } as const;
const none = { endpoint: null, folderFiles: null };

describe('presentation mode', () => {
  it('Space and → go on, Esc leaves; typing in a field and modified keys are left alone', () => {
    expect(presentKey({ key: ' ' }, false)).toBe('next');
    expect(presentKey({ key: 'ArrowRight' }, false)).toBe('next');
    expect(presentKey({ key: 'Escape' }, false)).toBe('leave');
    expect(presentKey({ key: 'Escape' }, true)).toBe('leave');
    expect(presentKey({ key: ' ' }, true)).toBeNull();
    expect(presentKey({ key: 'ArrowRight', ctrlKey: true }, false)).toBeNull();
    expect(presentKey({ key: 'a' }, false)).toBeNull();
  });

  it('tells the SELF round as stages: filtering lasts until the first training step', () => {
    expect(storyStage(null, 0, false)).toBe('ready');
    expect(storyStage('baseline', 0, false)).toBe('baseline');
    expect(storyStage('collect', 0, false)).toBe('collect');
    expect(storyStage('train', 0, false)).toBe('filter');
    expect(storyStage('train', 3, false)).toBe('train');
    expect(storyStage('evaluate', 3, false)).toBe('evaluate');
    expect(storyStage('evaluate', 3, true)).toBe('done');
  });

  it('draws accuracy per evaluated round, leaving out rounds without the figure', () => {
    const metrics: RunMetricPoint[] = [
      { round: 0, evalTasks: 8, directAccuracy: 0.5, refinedAccuracy: 0.75 },
      { round: 1, evalTasks: 8, directAccuracy: 0.875 },
    ];
    expect(accuracySeries(metrics)).toEqual([
      { label: 'Direct answers', points: [{ x: 0, y: 0.5 }, { x: 1, y: 0.875 }] },
      { label: 'With self-refinement', points: [{ x: 0, y: 0.75 }] },
    ]);
    expect(beforeAfter(metrics)).toEqual({ before: 0.5, after: 0.875, round: 1 });
    expect(beforeAfter(metrics.slice(0, 1))).toBeNull();
    expect(accuracySeries([])).toEqual([]);
  });

  it('names steps and finds the answer a refinement replaces', () => {
    const s = (kind: StepRecord['kind'], refineRound: number, text: string) => ({ kind, refineRound, text }) as StepRecord;
    const steps = [s('draft', 0, 'a'), s('feedback', 0, 'f'), s('refinement', 1, 'b'), s('feedback', 1, 'g'), s('refinement', 2, 'c')];
    expect(previousAnswer(steps, 2)?.text).toBe('a');
    expect(previousAnswer(steps, 4)?.text).toBe('b');
    expect(previousAnswer(steps, 0)).toBeNull();
    expect(stepTitle(steps[0])).toBe('First answer (draft)');
    expect(stepTitle(steps[4])).toBe('Refined answer 2');
  });
});

describe('the experiment model loads itself on Run', () => {
  it('ensure() loads the choice once, waits for a load under way, and reuses a loaded engine', async () => {
    let built = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slot = new EngineSlot(
      'actor',
      () => {
        built++;
        const engine = new ScriptedEngine({ modelId: null, script: ['x'] });
        const load = engine.load.bind(engine);
        engine.load = async (id, o) => {
          await gate;
          return load(id, o);
        };
        return { engine, loadId: 'toy-arith' };
      },
      () => undefined,
    );
    const first = slot.ensure(toy, none);
    const second = slot.ensure(toy, none);
    await new Promise((r) => setTimeout(r, 0));
    expect(loadingText('actor', slot.view)).toMatch(/^Loading the actor model \(.+\)…$/);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(built).toBe(1);
    expect(await slot.ensure(toy, none)).toBe(a);
    expect(built).toBe(1);
    expect(loadingText('actor', slot.view)).toBeNull();
  });

  it('a failed load rejects ensure() with the slot error', async () => {
    const slot = new EngineSlot(
      'actor',
      () => ({ engine: new ScriptedEngine({ modelId: null, script: [] }), loadId: 'toy-arith' }),
      () => undefined,
    );
    // Cancelled while loading: ensure says so instead of returning nothing.
    const p = slot.ensure(toy, none);
    slot.cancel();
    await expect(p).rejects.toThrow(/cancelled|Stopped/);
  });

  it('a folder from disk or an endpoint this browser lacks needs the person; the loaded choice does not', () => {
    const folder = { kind: 'tfjs', model: { from: 'folder', name: 'my-model' }, backend: 'auto' } as const;
    expect(needsPerson('actor', folder, null, false)).toMatch(/folder on your disk \("my-model"\)/);
    expect(needsPerson('actor', folder, folder, false)).toBeNull();
    expect(needsPerson('critic', { kind: 'openai' }, null, false)).toMatch(/endpoint/);
    expect(needsPerson('critic', { kind: 'openai' }, null, true)).toBeNull();
    expect(needsPerson('actor', toy, null, false)).toBeNull();
  });
});

describe('batch figures a class can read', () => {
  const loop = (o: Partial<LoopSummary>) => ({ improved: false, changed: false, initialPass: null, finalPass: null, initialScore: null, finalScore: null, ...o }) as LoopSummary;

  it('names each figure in words and leaves out the ones that do not exist', () => {
    const unscored = summaryFacts(summarizeBatchLoops(3, [loop({ changed: true, improved: true, initialPass: false, finalPass: true }), loop({ initialPass: true, finalPass: true }), loop({})]));
    expect(unscored.map((f) => f.id)).toEqual(['loops', 'changed', 'accuracy']);
    expect(unscored.find((f) => f.id === 'changed')?.value).toBe('1; of those, now right (wrong at first): 1');
    expect(unscored.find((f) => f.id === 'accuracy')?.value).toBe('1 of 2 first answers (50 %) → 2 of 2 final answers (100 %)');
    const scored = summaryFacts(summarizeBatchLoops(1, [loop({ initialScore: 4, finalScore: 8 })]));
    expect(scored.map((f) => [f.id, f.value])).toEqual([
      ['loops', '1 of 1 tasks'],
      ['changed', 'none'],
      ['score', '4.0 on first answers → 8.0 on final answers'],
    ]);
    expect(JSON.stringify(scored)).not.toContain('—');
  });

  it('says "better" only by what measures it: the checker, the feedback scores, both, or neither', () => {
    const changed = (o: Partial<LoopSummary>[]) => summaryFacts(summarizeBatchLoops(o.length, o.map(loop))).find((f) => f.id === 'changed')?.value;
    expect(changed([{ changed: true, improved: true, initialScore: 3, finalScore: 7 }, { changed: true, initialScore: 6, finalScore: 5 }])).toBe('2; of those, scored higher by their feedback: 1');
    expect(changed([{ changed: true, improved: true, initialPass: false, finalPass: true, initialScore: 3, finalScore: 7 }])).toBe(
      '1; of those, now better (the checker passes it, or its feedback scores it higher): 1',
    );
    // No checker and no scores: how many changed, with no claim that any got better.
    expect(changed([{ changed: true }, { changed: true }, {}])).toBe('2');
  });
});

describe('the classroom round', () => {
  it('is the toy defaults with one round of its sizes, valid, and its note names those sizes', () => {
    const s = classroomRoundSettings();
    expect(() => validateSelfSettings(s)).not.toThrow();
    expect(s).toEqual({ ...toySelfSettings(), rounds: 1, perRound: CLASSROOM_ROUND.perRound, evalCount: CLASSROOM_ROUND.evalCount, metaMix: { ...CLASSROOM_ROUND.metaMix } });
    expect(isClassroomRound(s)).toBe(true);
    expect(isClassroomRound(toySelfSettings())).toBe(false);
    expect(isClassroomRound({ ...s, perRound: 16 })).toBe(false);
    expect(CLASSROOM_ROUND_NOTE).toContain(`${CLASSROOM_ROUND.perRound} new questions`);
    expect(CLASSROOM_ROUND_NOTE).toContain(`${CLASSROOM_ROUND.evalCount} held out`);
  });
});
