/**
 * The toy model's LoRA training defaults (train-form.ts, src/core/toy/self-train.ts), one line each: what the
 * setting is, its value, and why that value suits a 0.8 M-parameter model trained on short worked answers.
 */
import { numberText, type DefaultNote } from '../lib/default-notes.ts';
import type { TrainForm } from './train-form.ts';

export function toyTrainNotes(f: TrainForm, use: 'sft' | 'dpo' = 'sft'): DefaultNote[] {
  const layers = f.layers.trim() === '' ? 'every layer' : `layers ${f.layers}`;
  const length = f.length === 'epochs' ? `${numberText(f.epochs)} epochs` : `${f.steps} steps`;
  const notes: DefaultNote[] = [
    {
      setting: 'LoRA',
      value: `rank ${f.r}, alpha ${f.alpha}${f.rslora ? ' (rsLoRA)' : ''}, dropout ${numberText(f.dropout)}, ${f.targetModules.length} projections, ${layers}`,
      why: 'a small adapter on every projection: the whole model has only 0.8 M parameters, so adapting all of it is cheap; no dropout, since a training here is only a few dozen steps.',
      keys: ['r', 'alpha', 'dropout', 'rslora', 'targetModules', 'layers'],
    },
    {
      setting: 'Length and rate',
      value: `${length} at a ${f.schedule} ${numberText(f.lr)}, ${f.warmupSteps} warm-up steps`,
      why: 'at most a few hundred short rows to learn: a short run at a high, fixed rate moves a tiny adapter enough, with nothing to schedule.',
      keys: ['lr', 'length', 'epochs', 'steps', 'schedule', 'warmupSteps'],
    },
    {
      setting: 'Batches and optimizer',
      value: `batch ${f.batchSize}${f.gradAccum > 1 ? ` × ${f.gradAccum}` : ''}, ${f.optimizer === 'adamw' ? 'AdamW' : 'SGD'}, weight decay ${numberText(f.weightDecay)}, clipping ${numberText(f.clip)}`,
      why: 'the usual choices for LoRA; clipping guards the first steps, when a fresh adapter meets rows unlike the model’s own.',
      keys: ['batchSize', 'gradAccum', 'optimizer', 'weightDecay', 'clip'],
    },
    {
      setting: 'Sequence length',
      value: `${f.seqLen} tokens${f.groupByLength ? ', rows batched by length' : ''}`,
      why:
        (use === 'dpo'
          ? 'a question with one worked answer is about 60–70 tokens, and DPO compares two such answers.'
          : 'a question with its worked answer is about 60 tokens; the longer rows (a whole column check, then the fix) still fit.') +
        (f.groupByLength ? ' Batching rows of similar length keeps the short answers from being padded to the long chats’ length.' : ''),
      keys: ['seqLen', 'groupByLength'],
    },
    { setting: 'Seed', value: String(f.seed), why: 'the same data gives the same adapter, so a rerun for a class shows what the last one showed.', keys: ['seed'] },
    {
      setting: 'DPO β',
      value: `${numberText(f.beta)}${f.rpoAlpha ? `, plus the chosen answers’ NLL × ${numberText(f.rpoAlpha)} (RPO)` : ''}`,
      why:
        use === 'dpo'
          ? 'TRL’s default: how far the trained model may move from the start adapter; the NLL term keeps the chosen answers’ likelihood from falling.'
          : 'used only by DPO (SRT), not by this training.',
      keys: ['beta', ...(f.rpoAlpha !== undefined ? (['rpoAlpha'] as const) : [])],
    },
    {
      setting: 'Checkpoints',
      value: f.checkpointEvery === 0 && f.checkpointSeconds === 0 ? 'none' : `every ${f.checkpointEvery} steps or ${f.checkpointSeconds} s`,
      why:
        f.checkpointEvery === 0 && f.checkpointSeconds === 0
          ? 'a round’s training takes seconds; a stopped run resumes at the phase it stopped in.'
          : 'a reload loses at most a few seconds of training.',
      keys: ['checkpointEvery', 'checkpointSeconds'],
    },
  ];
  return notes;
}
