/**
 * The LoRA settings of a SELF round on the toy model, shared by the CLI/bench experiment and the app's SELF
 * and Training tabs: r 8, α 16 on all seven projections, AdamW at 1e-3 for 3 epochs, batch 16, constant
 * rate, clip 1. Sequences up to 256 tokens: a question with its worked answer is ~60 tokens, and the
 * meta-skill replay's refine chats (question, draft working, column feedback, corrected working) reach ~220.
 */
import type { TfjsTrainConfig } from '../engine/tfjs/api.ts';
import { trainConfig } from '../engine/tfjs/train-config.ts';
import { PROJECTIONS } from '../model/types.ts';

export interface ToySelfTrainKnobs {
  lr: number;
  epochs: number;
  rank: number;
}

export const TOY_SELF_TRAIN: Readonly<ToySelfTrainKnobs> = { lr: 1e-3, epochs: 3, rank: 8 };

export function toySelfTrainConfig(k: ToySelfTrainKnobs, seed: number): TfjsTrainConfig {
  return trainConfig({
    lora: { r: k.rank, alpha: 2 * k.rank, dropout: 0, targetModules: [...PROJECTIONS] },
    lr: k.lr,
    epochs: k.epochs,
    batchSize: 16,
    schedule: 'constant',
    warmupSteps: 0,
    clip: 1,
    seqLen: 256,
    seed,
  });
}

/**
 * SRT's DPO stage on the toy model (srt-experiment.ts): the same LoRA, from the SFT adapter, on
 * (question, refined working ≻ draft working) pairs of ~70 tokens: half the learning rate, 2 epochs, β 0.1.
 */
export function toySrtDpoConfig(k: ToySelfTrainKnobs, seed: number): TfjsTrainConfig {
  return { ...toySelfTrainConfig(k, seed), lr: k.lr / 2, epochs: 2, seqLen: 128, beta: 0.1 };
}
