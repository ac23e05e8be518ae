/**
 * Meta-skill rows chosen by the model's own mistakes as a critic (SELF's D_meta, annotated where the model needs
 * it): before a round, the current model writes its feedback on a pool of annotator items (varied reviewed
 * drafts of fresh meta-split questions, generate.ts); the items where its verdict differs from the annotator's
 * become training rows with the annotator's feedback (and, for a wrong draft, its refinement) as targets. So the
 * round's meta-skill data follows what this model's critic misses now (after round 1: misread operands and wrong
 * column values, README.md section 8) instead of the corpus's fixed mix. The annotator's labels are on meta-split
 * questions only: no question of a round's unlabeled set or of the held-out set is labelled.
 */
import type { ChatEngine } from '../engine/types.ts';
import { generateMany } from '../refine/generate.ts';
import type { SftMessagesRow } from '../train/trl.ts';
import { TOY_MAX_TOKENS } from './evaluate.ts';
import { generateToyData } from './generate.ts';
import { parseToyFeedback } from './parse-feedback.ts';

export interface CriticMissOptions {
  engine: ChatEngine;
  /** The model under training (null = the base model). */
  adapterId: string | null;
  /** Items the critic is tried on. */
  pool: number;
  /** Chooses the pool's meta-split questions and reviewed drafts (a different seed for every round). */
  seed: number;
  batchSize?: number;
  signal?: AbortSignal;
}

export interface CriticMissResult {
  rows: SftMessagesRow[];
  /** Of the pool: wrong reviewed drafts, and those the model's feedback called correct. */
  wrong: number;
  missed: number;
  /** Of the pool: right reviewed drafts, and those the model's feedback did not call correct (trained on). */
  right: number;
  falseAlarms: number;
  /** Of those false alarms, the ones whose feedback gave no verdict at all (not a claim that the draft is wrong). */
  noVerdict: number;
}

const verdictOf = (text: string) => parseToyFeedback(text).feedback?.verdict ?? 'unknown';

export async function criticMissRows(o: CriticMissOptions): Promise<CriticMissResult> {
  const items = generateToyData({ seed: o.seed, metaCount: o.pool, refineShare: 1, rounds: 0, evalCount: 0 }).meta;
  const answers = await generateMany(
    o.engine,
    items.map((ex) => ({ messages: ex.chats.feedback.slice(0, -1), adapterId: o.adapterId, temperature: 0, maxTokens: TOY_MAX_TOKENS.feedback })),
    { batchSize: o.batchSize, signal: o.signal },
  );
  const out: CriticMissResult = { rows: [], wrong: 0, missed: 0, right: 0, falseAlarms: 0, noVerdict: 0 };
  items.forEach((ex, i) => {
    const truth = verdictOf(ex.feedback);
    const own = verdictOf(answers[i].text);
    if (truth === 'incorrect') out.wrong++;
    else out.right++;
    if (own === truth) return;
    if (truth === 'incorrect') out.missed++;
    else {
      out.falseAlarms++;
      if (own === 'unknown') out.noVerdict++;
    }
    out.rows.push({ messages: ex.chats.feedback });
    if (truth === 'incorrect' && ex.chats.refine) out.rows.push({ messages: ex.chats.refine });
  });
  return out;
}
