/**
 * The critic probe: the model's feedback on a fixed set of varied drafts, so the feedback skill is measured
 * after every round even when the model's own drafts are all right (after round 1 the held-out drafts give no
 * wrong draft to catch). The set is 200 annotator items of meta-split questions (criticMissRows' pool: drafts
 * with every kind of error, and right drafts), chosen by the experiment's seed and the same for every round, so
 * rounds are compared on the same drafts. Only the model's verdict is read; nothing is trained.
 */
import type { ChatEngine } from '../engine/types.ts';
import { criticMissRows } from './critic-miss-mix.ts';

export const CRITIC_PROBE_SIZE = 200;

/** The probe's seed for an experiment seed: apart from the critic pools' (700,000 + …) and the corpus's. */
export const criticProbeSeed = (seed: number): number => 900_000 + seed;

export interface CriticProbe {
  /** Of the probe's wrong drafts, the share the model's feedback called wrong. */
  caught: number;
  /** Of the probe's right drafts, the share the model's feedback called wrong (a feedback with no verdict is not counted). */
  falseAlarm: number;
  wrong: number;
  right: number;
}

export async function probeToyCritic(o: { engine: ChatEngine; adapterId: string | null; seed: number; batchSize?: number; signal?: AbortSignal }): Promise<CriticProbe> {
  const r = await criticMissRows({ engine: o.engine, adapterId: o.adapterId, pool: CRITIC_PROBE_SIZE, seed: criticProbeSeed(o.seed), batchSize: o.batchSize, signal: o.signal });
  return {
    caught: r.wrong === 0 ? NaN : (r.wrong - r.missed) / r.wrong,
    falseAlarm: r.right === 0 ? NaN : (r.falseAlarms - r.noVerdict) / r.right,
    wrong: r.wrong,
    right: r.right,
  };
}
