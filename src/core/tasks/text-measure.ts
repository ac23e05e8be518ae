/** Counting words, sentences, paragraphs and list items the same way everywhere rules are checked. */

// Words may contain apostrophes and hyphens ("it's", "well-known"); numbers may contain . and , ("3.5", "1,000").
const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+|(?<=\p{N})[.,]\p{N}+)*/gu;

export function words(text: string): string[] {
  return text.match(WORD) ?? [];
}

export function countWords(text: string): number {
  return words(text).length;
}

/**
 * Sentences end with . ! or ? followed by whitespace or the end (not after common abbreviations like "Mr.");
 * a piece without a letter or digit is not one.
 */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])(?<!\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|etc|e\.g|i\.e|No)\.)["'”’)\]]*\s+|\n\s*\n/u)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

export function countSentences(text: string): number {
  return sentences(text).length;
}

/** Paragraphs are separated by blank lines (or a line of `***`). */
export function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n|\n\s*\*\*\*\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0 && p !== '***');
}

/** Lines that start with "-", "*" or "•" and a space (Markdown bullets). */
export function bulletLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s*[-*•]\s+\S/.test(l));
}

/** Lines that start with "1." or "1)". */
export function numberedLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s*\d+[.)]\s+\S/.test(l));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Occurrences of `phrase` as whole words, ignoring case. */
export function countPhrase(text: string, phrase: string): number {
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(phrase.trim())}(?![\\p{L}\\p{N}])`, 'giu');
  return (text.match(re) ?? []).length;
}

/** Removes one Markdown code fence wrapped around the whole text, if there is one. */
export function unfence(text: string): string {
  const m = /^\s*```[\w-]*\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  return m ? m[1] : text;
}
