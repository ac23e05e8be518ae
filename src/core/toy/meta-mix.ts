/**
 * The toy world's meta-skill corpus as SELF's per-round mix (`TaskKindSpec.metaSkillRows`): annotator feedback
 * and refine chats (generate.ts, the same kind of item the base model was built from: varied reviewed drafts)
 * on fresh meta-split questions, a different window of them for each round. They never hold a question of a
 * round's unlabeled set or of the held-out set (split.ts).
 */
import type { MetaMix } from '../refine/kinds.ts';
import type { SftMessagesRow } from '../train/trl.ts';
import { generateToyData } from './generate.ts';

export function toyMetaSkillRows(mix: MetaMix, round: number): SftMessagesRow[] {
  const per = Math.max(0, mix.feedback, mix.refine);
  if (per === 0 || round < 1) return [];
  const items = generateToyData({ seed: mix.seed, metaCount: per * round, refineShare: 1, rounds: 0, evalCount: 0 }).meta.slice((round - 1) * per);
  return [
    ...items.slice(0, mix.feedback).map((ex) => ({ messages: ex.chats.feedback })),
    ...items.slice(0, mix.refine).map((ex) => ({ messages: ex.chats.refine! })),
  ];
}
