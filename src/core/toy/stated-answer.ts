/**
 * The answer an answer text states, and the view of it the critic is shown.
 *
 * The feedback prompt does not quote a draft's working, only the number it ends with, digit by place:
 *
 *   ones: 7+5+0=12, so 2
 *   tens: 4+8+0=12, so 22        →   answer: ones 2, tens 2, hundreds 6
 *   hundreds: 3+2+1=6, so 622
 *
 * Why (measured, toy README section 9): shown the working, the model's critic learned to copy the draft's
 * column sums into its own check, so after one SELF round the drafts' errors became the critic's errors too and
 * it called 3 of 23 wrong drafts wrong. Shown only the stated digits, it must work every column out from the
 * question, and it compares its digit with the draft's in the same place a few tokens away.
 */
import { placeName, placeOfName } from './places.ts';
import { canonicalDigits } from './question.ts';
import { workingAnswer } from './working.ts';

const VIEW_PREFIX = 'answer: ';
/** Longer texts are never a view (13 places of ≤ 20 characters). */
const MAX_VIEW_CHARS = 400;

/** The digits a critic view states, canonical; null unless `text` is exactly a view. */
export function readCriticView(text: string): string | null {
  const t = text.trim();
  if (!t.startsWith(VIEW_PREFIX) || t.length > MAX_VIEW_CHARS) return null;
  let digits = '';
  for (const [i, part] of t.slice(VIEW_PREFIX.length).split(', ').entries()) {
    const m = /^(\S+) (\d)$/.exec(part);
    if (!m || placeOfName(m[1]) !== i) return null;
    digits = m[2] + digits;
  }
  return canonicalDigits(digits);
}

/**
 * The answer an answer text states, as a canonical digit string: a plain whole number, a working (working.ts)
 * whose last line's "so far" is the answer, or a critic view. Null for anything else.
 */
export function extractToyAnswer(text: string): string | null {
  const t = text.trim();
  return /^\d+$/.test(t) ? canonicalDigits(t) : (workingAnswer(t) ?? readCriticView(t));
}

/** What the feedback prompt shows of an answer: its stated digits by place, or the trimmed text when it states no number. */
export function toyCriticView(answer: string): string {
  const stated = extractToyAnswer(answer);
  if (stated === null) return answer.trim();
  return VIEW_PREFIX + [...stated].reverse().map((d, i) => `${placeName(i)} ${d}`).join(', ');
}
