/**
 * The toy model's SRT defaults (srt-settings.ts), one line each: what the setting is, its value, and why that value
 * for the toy model. The SRT tab shows them inside its folded settings (the SFT and DPO training lines come from
 * ../training/toy-train-notes.ts).
 */
import { numberText, onOff, type DefaultNote } from '../lib/default-notes.ts';
import type { SrtSettings } from './srt-settings.ts';

export function toySrtNotes(s: SrtSettings): DefaultNote[] {
  return [
    {
      setting: 'Train prompts reviewed',
      value: String(s.perRound),
      why: 'each answer also costs the critic a feedback and a refinement; 100 keep a run short.',
      keys: ['perRound'],
    },
    {
      setting: 'Held-out prompts',
      value: String(s.evalCount),
      why: 'measured three times (at the start, after SFT, after DPO), so half of SELF’s 200.',
      keys: ['evalCount'],
    },
    {
      setting: 'Critique rounds per answer',
      value: String(s.critiqueRounds),
      why: 'one column check and one fix correct the toy model’s usual slip, a forgotten carry or borrow.',
      keys: ['critiqueRounds'],
    },
    {
      setting: 'Only loops the critic improved',
      value: onOff(s.requireImproved),
      why: 'otherwise an unchanged or worse refinement would be taught as the better answer in DPO.',
      keys: ['requireImproved'],
    },
    {
      setting: 'SFT rows',
      value: s.sftShapes.includes('sft') ? 'feedback then refinement, and question → refinement' : 'feedback then refinement',
      why: 'SRT teaches the actor the critic’s skill: to write the feedback and then the fixed answer.',
      keys: ['sftShapes'],
    },
    {
      setting: 'Stages',
      value: `DPO after SFT (${onOff(s.dpo)}), evaluate each stage (${onOff(s.evaluate)})`,
      why: 'SRT’s two stages, each measured, so the class sees what each one adds.',
      keys: ['dpo', 'evaluate'],
    },
    {
      setting: 'Token budgets',
      value: s.answerTokens === null && s.feedbackTokens === null ? 'the toy kind’s own' : `${s.answerTokens ?? 'kind’s'} / ${s.feedbackTokens ?? 'kind’s'}`,
      why: 'a worked answer and a column check have a known length for a 3-digit question; the kind’s budgets fit them.',
      keys: ['answerTokens', 'feedbackTokens'],
    },
    {
      setting: 'Batch size',
      value: String(s.batchSize),
      why: 'answers written together; the toy model is tiny, so large batches are what make it fast on a CPU.',
      keys: ['batchSize'],
    },
    {
      setting: 'SFT',
      value: `the SELF round’s LoRA settings, ${s.sft.seqLen}-token rows in batches of ${s.sft.batchSize}`,
      why: 'a row holds a whole column check and the fixed answer, so it needs the model’s full context.',
      keys: ['sft'],
    },
    {
      setting: 'DPO',
      value: `rate ${numberText(s.dpoTrain.lr)} (a twentieth of SFT’s), ${s.dpoTrain.seqLen}-token rows, β ${numberText(s.dpoTrain.beta)}`,
      why: 'a pair is a question with two worked answers (about 60 tokens each); at half of SFT’s rate DPO pushed down the chosen answers with the rejected ones and wrecked the model (README, section 9); β 0.1 is TRL’s default.',
      keys: ['dpoTrain'],
    },
    {
      setting: 'Start from',
      value: s.startAdapterId === null ? 'the base model' : 'an adapter',
      why: 'SRT starts from the model as built.',
      keys: ['startAdapterId'],
    },
  ];
}
