/**
 * What the Evaluation tab says about the weights the bench reference was measured on (BenchReference.svelte):
 * per stored record (self_eval.json, srt_eval.json) one sentence, the summary's words ("on this model" only when
 * every record names the loaded weights), and whether SRT's numbers may sit in one table with SELF's (not when
 * the two records name different weights).
 */
import { recordedWeights, weightsMatch, weightsSentence, type WeightsFingerprint, type WeightsMatch } from '../../core/toy/weights-fingerprint.ts';

export interface RecordWeights {
  file: string;
  match: WeightsMatch;
  text: string;
}

export interface BenchWeights {
  /** The worst match over the records: other, then unread, then unknown, else same. */
  match: WeightsMatch;
  /** Words for the summary line: "on this model", "on other weights than this model", … */
  words: string;
  records: RecordWeights[];
  /** False when SELF and SRT name different weights: their numbers are not put side by side. */
  srtComparable: boolean;
}

const ORDER: readonly WeightsMatch[] = ['other', 'unread', 'unknown', 'same'];

const WORDS: Record<WeightsMatch, string> = {
  same: 'on this model',
  other: 'on other weights than this model',
  unread: 'on weights not compared with this model (its weights could not be read)',
  unknown: 'on weights of unknown version',
};

/** `self` and `srt` are the records as read (SRT null when there is none); `loaded` the loaded weights, or null when unreadable. */
export function benchWeights(self: unknown, srt: unknown, loaded: WeightsFingerprint | null): BenchWeights {
  const entries: [string, WeightsFingerprint | null][] = [['self_eval.json', recordedWeights(self)]];
  if (srt) entries.push(['srt_eval.json', recordedWeights(srt)]);
  const records = entries.map(([file, w]) => ({ file, match: weightsMatch(w, loaded), text: `${file === 'self_eval.json' ? 'SELF' : 'SRT'} numbers (${file}): ${weightsSentence(w, loaded)}` }));
  const match = ORDER.find((m) => records.some((r) => r.match === m)) ?? 'unknown';
  const [selfW, srtW] = [entries[0][1], entries[1]?.[1] ?? null];
  return { match, words: WORDS[match], records, srtComparable: !(selfW && srtW && selfW.sha256 !== srtW.sha256) };
}
