import { describe, expect, it } from 'vitest';
import { ScriptedEngine } from './scripted-engine.ts';
import type { ChatRequest } from '../../src/core/engine/types.ts';
import { runSelfRefine } from '../../src/core/refine/loop.ts';
import { buildSamples, selectLoops, summarizeLoop, summarizeLoops, type LoopSummary } from '../../src/core/refine/samples.ts';
import { toTrlJsonl, type PreferenceRow, type PromptCompletionRow, type SftMessagesRow } from '../../src/core/train/trl.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import { parseJsonl } from '../../src/core/train/data-parse.ts';
import type { Task } from '../../src/core/tasks/types.ts';
import { answerUnderReview, attemptsQuoted, callKind, mathTask, openTask, PLAIN_TEMPLATES } from './refine-helpers.ts';

/** Per task: the draft's number, then each refinement adds `step`; feedback scores by distance to the answer. */
function script(start: Record<string, number>, step: Record<string, number>) {
  return (req: ChatRequest) => {
    const user = req.messages[req.messages.length - 1].content;
    const id = /problem (\S+)\?/.exec(user)?.[1] ?? /about (\S+)\./.exec(user)?.[1] ?? '?';
    const k = callKind(req);
    if (k === 'draft') return `#### ${start[id]}`;
    if (k === 'refine') return `#### ${start[id] + step[id] * attemptsQuoted(req)}`;
    const got = Number(/####\s*(-?\d+)/.exec(answerUnderReview(req))?.[1]);
    if (got === 42) return 'Score: 10/10\nVerdict: correct\nNO ISSUES';
    return `Weaknesses:\n- ${got} is off\nScore: ${Math.max(1, 10 - Math.abs(42 - got))}/10\nVerdict: incorrect`;
  };
}

async function loopsFor(tasks: Task[], start: Record<string, number>, step: Record<string, number>, maxRounds = 3): Promise<{ steps: StepRecord[]; summaries: LoopSummary[] }> {
  const steps: StepRecord[] = [];
  const engine = new ScriptedEngine({ script: script(start, step) });
  for (const task of tasks) {
    await runSelfRefine({
      task,
      loopId: `loop-${task.id}`,
      engine,
      templates: PLAIN_TEMPLATES,
      stop: { maxRounds, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true },
      onStep: async (s) => {
        steps.push(s);
      },
    });
  }
  return { steps, summaries: summarizeLoops(tasks, steps) };
}

describe('loop summaries and filters', () => {
  it('summarise first and final answers, scores, checker results and improvement', async () => {
    // a: 40 → 41 → 42 (improves, passes); b: 42 at once; c: 30 → 30 (unchanged, fails); o: open, no checker.
    const tasks = [mathTask('a', 42), mathTask('b', 42), mathTask('c', 42), openTask('o')];
    const { summaries } = await loopsFor(tasks, { a: 40, b: 42, c: 30, o: 38 }, { a: 1, b: 0, c: 0, o: 1 });
    const by = Object.fromEntries(summaries.map((s) => [s.task.id, s]));
    expect(by.a).toMatchObject({ initialScore: 8, finalScore: 10, finalVerdict: 'correct', initialPass: false, finalPass: true, changed: true, improved: true });
    expect(by.a.final.text).toBe('#### 42');
    expect(by.b).toMatchObject({ initialScore: 10, finalScore: 10, initialPass: true, finalPass: true, changed: false, improved: false });
    // The unchanged refinement takes the score of the equal answer before it.
    expect(by.c).toMatchObject({ initialScore: 1, finalScore: 1, finalPass: false, changed: false, improved: false });
    expect(by.c.final.kind).toBe('refinement');
    // Open task: improvement by score only (38 → 39 → 40 → 41, scores 6 → 9).
    expect(by.o).toMatchObject({ initialPass: null, finalPass: null, changed: true, improved: true });
    expect(summarizeLoop(mathTask('z', 1), [])).toBeNull();
  });

  it('filter by improvement, verdict, checker and score, with manual include/exclude, saying why', async () => {
    const tasks = [mathTask('a', 42), mathTask('b', 42), mathTask('c', 42), openTask('o')];
    const { summaries } = await loopsFor(tasks, { a: 40, b: 42, c: 30, o: 38 }, { a: 1, b: 0, c: 0, o: 1 });
    const ids = (s: LoopSummary[]) => s.map((l) => l.task.id).sort();
    expect(ids(selectLoops(summaries).kept)).toEqual(['a', 'b', 'c', 'o']);
    expect(ids(selectLoops(summaries, { requireImproved: true }).kept)).toEqual(['a', 'o']);
    expect(ids(selectLoops(summaries, { requireVerdictCorrect: true }).kept)).toEqual(['a', 'b']);
    const oracle = selectLoops(summaries, { requireOraclePass: true });
    expect(ids(oracle.kept)).toEqual(['a', 'b']);
    expect(oracle.dropped).toEqual(
      expect.arrayContaining([
        { loopId: 'loop-c', reason: 'final answer fails the check' },
        { loopId: 'loop-o', reason: 'task has no checker' },
      ]),
    );
    expect(ids(selectLoops(summaries, { minFinalScore: 9 }).kept)).toEqual(['a', 'b', 'o']);
    expect(ids(selectLoops(summaries, { minFinalScore: 9.5 }).kept)).toEqual(['a', 'b']);
    const manual = selectLoops(summaries, { requireImproved: true, manual: { 'loop-c': 'include', 'loop-a': 'exclude' } });
    expect(ids(manual.kept)).toEqual(['c', 'o']);
    expect(manual.dropped).toContainEqual({ loopId: 'loop-a', reason: 'excluded by hand' });
  });
});

describe('training samples', () => {
  it('builds SFT, prompt-completion, meta-skill and preference rows with provenance, deduplicated', async () => {
    const tasks = [mathTask('a', 42), mathTask('b', 42)];
    const { summaries } = await loopsFor(tasks, { a: 40, b: 42 }, { a: 1, b: 0 });
    const samples = buildSamples(summaries, { shapes: ['sft', 'prompt-completion', 'meta', 'preference'], templates: PLAIN_TEMPLATES });
    const of = (shape: string, id: string) => samples.filter((s) => s.shape === shape && s.provenance.taskId === id);

    const sftA = of('sft', 'a')[0].row as SftMessagesRow;
    expect(sftA.messages).toEqual([
      { role: 'user', content: `DRAFT ${tasks[0].prompt}` },
      { role: 'assistant', content: '#### 42' },
    ]);
    expect(of('sft', 'a')[0].provenance).toEqual({ loopId: 'loop-a', taskId: 'a', evolutionRound: 0, steps: [{ kind: 'refinement', refineRound: 2 }] });
    expect((of('prompt-completion', 'a')[0].row as PromptCompletionRow).completion).toEqual([{ role: 'assistant', content: '#### 42' }]);

    // Meta-skill: one row per refinement that changed the answer: (answer, its feedback) → feedback then next answer.
    const meta = of('meta', 'a');
    expect(meta).toHaveLength(2);
    const m0 = meta[0].row as PromptCompletionRow;
    expect(m0.prompt).toEqual([{ role: 'user', content: `META ${tasks[0].prompt}\nDRAFT: #### 40` }]);
    expect(m0.completion[0].content).toBe('Weaknesses:\n- 40 is off\nScore: 8/10\nVerdict: incorrect\nBETTER: #### 41');
    expect(meta[0].provenance.steps).toEqual([
      { kind: 'draft', refineRound: 0 },
      { kind: 'feedback', refineRound: 0 },
      { kind: 'refinement', refineRound: 1 },
    ]);

    // Preference: refined ≻ initial, only where the loop improved.
    const pref = of('preference', 'a')[0].row as PreferenceRow;
    expect(pref.chosen).toEqual([{ role: 'assistant', content: '#### 42' }]);
    expect(pref.rejected).toEqual([{ role: 'assistant', content: '#### 40' }]);
    expect(of('preference', 'b')).toEqual([]);
    expect(of('meta', 'b')).toEqual([]);

    // Two loops with identical content give each row once.
    const twice = buildSamples([...summaries, ...summaries], { shapes: ['sft'], templates: PLAIN_TEMPLATES });
    expect(twice).toHaveLength(2);
    expect(new Set(twice.map((s) => s.key)).size).toBe(2);
  });

  it("builds the model's own feedback and refinement calls as chats, and the refinement without the feedback", async () => {
    const tasks = [mathTask('a', 42), mathTask('b', 42)];
    const { steps, summaries } = await loopsFor(tasks, { a: 40, b: 42 }, { a: 1, b: 0 });
    const samples = buildSamples(summaries, { shapes: ['step-chats', 'refine-only'], templates: PLAIN_TEMPLATES });
    const of = (shape: string, id: string) => samples.filter((s) => s.shape === shape && s.provenance.taskId === id).map((s) => (s.row as SftMessagesRow).messages);
    // a: 40 → 41 → 42. Each feedback that led to a change, each refinement, then the feedback that passed 42:
    // exactly the prompts that were sent and the texts that came back.
    const own = steps.filter((s) => s.loopId === 'loop-a' && (s.kind === 'feedback' || s.kind === 'refinement'));
    expect(own.map((s) => `${s.kind}${s.refineRound}`)).toEqual(['feedback0', 'refinement1', 'feedback1', 'refinement2', 'feedback2']);
    expect(of('step-chats', 'a')).toEqual(own.map((s) => [...s.prompt, { role: 'assistant', content: s.text.trim() }]));
    expect(of('step-chats', 'a').at(-1)!.at(-1)!.content).toContain('Verdict: correct');
    expect(of('step-chats', 'b')).toEqual([]); // nothing changed, nothing to learn
    // Refinement only (SRT's ablation): the refine call with an empty feedback, → the next answer.
    const refineOnly = of('refine-only', 'a');
    expect(refineOnly).toHaveLength(2);
    expect(refineOnly[0]).toEqual([
      { role: 'user', content: `REFINE ${tasks[0].prompt}\n[attempt 1] #### 40\n[feedback 1] ` },
      { role: 'assistant', content: '#### 41' },
    ]);
    expect(refineOnly.flat().some((m) => m.content.includes('is off'))).toBe(false);
    expect(of('refine-only', 'b')).toEqual([]);
  });

  it('manual include gives a preference pair without measured improvement', async () => {
    const tasks = [openTask('o')];
    // The score goes down: no improvement measured.
    const steps: StepRecord[] = [];
    let fb = 0;
    const engine = new ScriptedEngine({ script: (req) => (callKind(req) === 'feedback' ? `Score: ${8 - fb++}/10` : callKind(req) === 'draft' ? 'first' : 'second') });
    await runSelfRefine({ task: tasks[0], loopId: 'L', engine, templates: PLAIN_TEMPLATES, stop: { maxRounds: 1, scoreThreshold: null, stopOnNoIssues: true, stopOnUnchanged: true }, onStep: async (s) => void steps.push(s) });
    const loops = summarizeLoops(tasks, steps);
    expect(loops[0].improved).toBe(false);
    expect(buildSamples(loops, { shapes: ['preference'], templates: PLAIN_TEMPLATES })).toEqual([]);
    expect(buildSamples(loops, { shapes: ['preference'], templates: PLAIN_TEMPLATES, manualInclude: new Set(['L']) })).toHaveLength(1);
  });

  it('exports TRL JSONL that the trainer reads back, with provenance only on request', async () => {
    const tasks = [mathTask('a', 42)];
    const { summaries } = await loopsFor(tasks, { a: 40 }, { a: 1 });
    const samples = buildSamples(summaries, { shapes: ['sft', 'prompt-completion', 'meta', 'preference'], templates: PLAIN_TEMPLATES });
    const jsonl = toTrlJsonl(samples);
    const lines = jsonl.trimEnd().split('\n');
    expect(lines).toHaveLength(samples.length);
    expect(jsonl.endsWith('\n')).toBe(true);
    expect(Object.keys(JSON.parse(lines[0]))).toEqual(['messages']);
    const rows = parseJsonl(jsonl);
    expect(rows.map((r) => r.kind)).toEqual(['conversational', 'prompt-completion', 'prompt-completion', 'prompt-completion', 'preference']);
    const withProv = toTrlJsonl(samples, { provenance: true }).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(withProv[0].provenance).toEqual(samples[0].provenance);
    expect(parseJsonl(toTrlJsonl(samples, { provenance: true }))).toHaveLength(samples.length);
    // Model text with quotes, newlines and markup stays text.
    const odd = toTrlJsonl([{ row: { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '<script>"x"\n</script>' }] } }]);
    expect(JSON.parse(odd).messages[1].content).toBe('<script>"x"\n</script>');
  });
});
