/**
 * The toy model's SELF defaults (self-settings.ts, TOY_SELF_DEFAULTS), one line each: what the setting is, its
 * value, and why that value for the toy model. The SELF tab shows them inside its folded settings.
 */
import { onOff, type DefaultNote } from '../lib/default-notes.ts';
import type { SelfSettings } from './self-settings.ts';

const META: Record<SelfSettings['metaSkill'], string> = { off: 'off', oracle: 'from the checker', critic: 'from the critic' };

export function toySelfNotes(s: SelfSettings): DefaultNote[] {
  const keep = [s.filter.requireVerdictCorrect && 'its final feedback says "correct"', s.filter.requireImproved && 'its score improved', s.filter.requireOraclePass && 'the checker passes it'].filter(Boolean);
  return [
    {
      setting: 'SELF rounds',
      value: String(s.rounds),
      why: 'round 1 brings this model’s gain (direct answers about 55 % → 90 % in the README’s table); round 2 shows that it levels off.',
      keys: ['rounds'],
    },
    {
      setting: 'Train prompts per round',
      value: `${s.perRound}${s.freshPerRound ? ', new ones each round' : ', the same each round'}`,
      why: 'unlabeled questions the model answers itself; 200 leave enough kept answers to learn from and keep a round near half a minute.',
      keys: ['perRound', 'freshPerRound'],
    },
    {
      setting: 'Held-out prompts',
      value: String(s.evalCount),
      why: 'graded only to measure, never trained on; with 200 one question is half a point, fine enough to see a round’s change.',
      keys: ['evalCount'],
    },
    {
      setting: 'Meta-skill stage',
      value: META[s.metaSkill],
      why: 'the toy model learned to check and fix its working when it was built, so SELF starts from there without labels.',
      keys: ['metaSkill'],
    },
    {
      setting: 'Refinements per answer',
      value: `at most ${s.stop.maxRounds}; stop when the feedback finds nothing to fix (${onOff(s.stop.stopOnNoIssues)}) or the answer is unchanged (${onOff(s.stop.stopOnUnchanged)})`,
      why: 'its usual mistake, a forgotten carry or borrow, takes one refinement to fix; more only repeats the same answer.',
      keys: ['stop'],
    },
    {
      setting: 'Keep a loop when',
      value: keep.length > 0 ? keep.join(' and ') : 'always',
      why: 'the model’s own verdict, so no labels are used; its feedback gives a verdict, not a score, so there is no score threshold.',
      keys: ['filter'],
    },
    {
      setting: 'Rows trained',
      value: s.shapes.includes('meta') ? 'question → final answer, and feedback-then-refinement' : 'question → final answer',
      why: 'teaches the direct answer the refinement reached, the figure SELF raises on this model.',
      keys: ['shapes'],
    },
    {
      setting: 'Token budgets',
      value: s.answerTokens === null && s.feedbackTokens === null ? 'the toy kind’s own' : `${s.answerTokens ?? 'kind’s'} / ${s.feedbackTokens ?? 'kind’s'}`,
      why: 'a worked answer and a column check have a known length for a 3-digit question; the kind’s budgets fit them.',
      keys: ['answerTokens', 'feedbackTokens'],
    },
    {
      setting: 'Temperature and seed',
      value: `${s.temperature} (greedy), seed ${s.seed}`,
      why: 'the model’s best answer every time, so a rerun in class shows the same drafts.',
      keys: ['temperature', 'seed'],
    },
    {
      setting: 'Batch size',
      value: String(s.batchSize),
      why: 'the model is tiny, so 100 answers written together cost little more than one: what makes a round fast on a CPU.',
      keys: ['batchSize'],
    },
    {
      setting: 'Evaluation',
      value: `before round 1 (${onOff(s.evaluation.baseline)}), also with self-refinement (${onOff(s.evaluation.selfRefine)}), judge: ${s.evaluation.judge}`,
      why: 'gives the before → after figures, direct and refined; every toy question has a checker, so no judge is needed.',
      keys: ['evaluation'],
    },
    {
      setting: 'Start from',
      value: s.startAdapterId === null ? 'the base model' : 'an adapter',
      why: 'round 1 starts from the model as built; later rounds continue the adapter of the round before.',
      keys: ['startAdapterId'],
    },
  ];
}
