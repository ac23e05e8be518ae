/**
 * The LoRA settings of a SELF round on the toy model, shared by the CLI/bench experiment and the app's SELF
 * and Training tabs: r 8, α 16 on all seven projections, AdamW at 1e-3 for 3 epochs, batch 16, constant
 * rate, clip 1. Sequences up to 256 tokens: a question with its worked answer is ~60 tokens, and the
 * meta-skill mix's refine chats (question, draft working, column feedback, corrected working) reach ~240.
 * Rows are batched by length (`groupByLength`): a round mixes ~60-token answers with ~120–240-token feedback
 * and refinement chats, and random batches of 16 would nearly all be padded to 256 (README.md, section 7).
 */
import type { TfjsTrainConfig } from '../engine/tfjs/api.ts';
import { trainConfig } from '../engine/tfjs/train-config.ts';
import { PROJECTIONS } from '../model/types.ts';

export interface ToySelfTrainKnobs {
  lr: number;
  epochs: number;
  rank: number;
  /** Batch rows by length (default true); false = random batches padded to their longest row's bucket. */
  groupByLength?: boolean;
}

export const TOY_SELF_TRAIN: Readonly<ToySelfTrainKnobs> = { lr: 1e-3, epochs: 3, rank: 8, groupByLength: true };

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
    groupByLength: k.groupByLength ?? true,
  });
}

/**
 * SRT's DPO stage on the toy model (srt-experiment.ts): the same LoRA, from the SFT adapter (also DPO's
 * reference), on (question, refined working ≻ draft working) pairs of ~70 tokens: a twentieth of SFT's rate,
 * 2 epochs, β 0.1, and RPO's NLL term on the chosen working (α 1). At half of SFT's rate (5e-4) both the chosen
 * and the rejected log-probabilities fell after ~24 steps and the answers collapsed (README, section 9).
 */
export function toySrtDpoConfig(k: ToySelfTrainKnobs, seed: number): TfjsTrainConfig {
  return { ...toySelfTrainConfig(k, seed), lr: k.lr / 20, epochs: 2, seqLen: 128, beta: 0.1, rpoAlpha: 1 };
}
