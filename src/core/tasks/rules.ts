import { AppError } from '../errors.ts';
import type { CheckResult } from './types.ts';
import {
  bulletLines,
  countPhrase,
  countSentences,
  countWords,
  numberedLines,
  paragraphs,
  unfence,
} from './text-measure.ts';

/**
 * Instruction-following rules, as data. Each rule is checked in code by `checkRules`; `describeRule` writes it
 * as an instruction. Imported rules are validated by `parseRule`.
 */
export type Rule =
  | { type: 'min_words'; n: number }
  | { type: 'max_words'; n: number }
  | { type: 'min_sentences'; n: number }
  | { type: 'max_sentences'; n: number }
  | { type: 'include_keywords'; words: string[] }
  | { type: 'exclude_keywords'; words: string[] }
  | { type: 'keyword_count'; word: string; min: number }
  | { type: 'no_commas' }
  | { type: 'json_object'; keys: string[] }
  | { type: 'bullet_count'; n: number }
  | { type: 'numbered_count'; n: number }
  | { type: 'all_lowercase' }
  | { type: 'all_uppercase' }
  | { type: 'starts_with'; phrase: string }
  | { type: 'ends_with'; phrase: string }
  | { type: 'paragraph_count'; n: number }
  | { type: 'title' }
  | { type: 'quoted' }
  | { type: 'postscript'; marker: string }
  | { type: 'placeholder_count'; min: number }
  | { type: 'max_chars'; n: number }
  | { type: 'no_digits' }
  | { type: 'section_count'; marker: string; n: number };

export type RuleType = Rule['type'];
type RuleOf<T extends RuleType> = Extract<Rule, { type: T }>;

/** 'count' = a whole number ≥ 0; 'text' = a non-empty string; 'texts' = a non-empty list of them. */
type ParamKind = 'count' | 'text' | 'texts';

interface RuleSpec<T extends RuleType> {
  params: { [K in Exclude<keyof RuleOf<T>, 'type'>]: ParamKind };
  /** null when the text follows the rule, otherwise what is wrong (without quoting the whole reply). */
  check(text: string, rule: RuleOf<T>): string | null;
  describe(rule: RuleOf<T>): string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const quote = (s: string) => `"${s}"`;
const letters = (text: string) => /\p{L}/u.test(text);

const SPECS: { [T in RuleType]: RuleSpec<T> } = {
  min_words: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = countWords(t);
      return n >= r.n ? null : `The reply has ${plural(n, 'word')}; it needs at least ${r.n}.`;
    },
    describe: (r) => `Use at least ${plural(r.n, 'word')}.`,
  },
  max_words: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = countWords(t);
      return n <= r.n ? null : `The reply has ${plural(n, 'word')}; it must have at most ${r.n}.`;
    },
    describe: (r) => `Use at most ${plural(r.n, 'word')}.`,
  },
  min_sentences: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = countSentences(t);
      return n >= r.n ? null : `The reply has ${plural(n, 'sentence')}; it needs at least ${r.n}.`;
    },
    describe: (r) => `Write at least ${plural(r.n, 'sentence')}.`,
  },
  max_sentences: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = countSentences(t);
      return n <= r.n ? null : `The reply has ${plural(n, 'sentence')}; it must have at most ${r.n}.`;
    },
    describe: (r) => `Write at most ${plural(r.n, 'sentence')}.`,
  },
  include_keywords: {
    params: { words: 'texts' },
    check: (t, r) => {
      const missing = r.words.filter((w) => countPhrase(t, w) === 0);
      return missing.length === 0 ? null : `The reply must use ${missing.map(quote).join(', ')}.`;
    },
    describe: (r) => `Include the words ${r.words.map(quote).join(', ')}.`,
  },
  exclude_keywords: {
    params: { words: 'texts' },
    check: (t, r) => {
      const present = r.words.filter((w) => countPhrase(t, w) > 0);
      return present.length === 0 ? null : `The reply must not use ${present.map(quote).join(', ')}.`;
    },
    describe: (r) => `Do not use the words ${r.words.map(quote).join(', ')}.`,
  },
  keyword_count: {
    params: { word: 'text', min: 'count' },
    check: (t, r) => {
      const n = countPhrase(t, r.word);
      return n >= r.min ? null : `${quote(r.word)} appears ${plural(n, 'time')}; it must appear at least ${r.min}.`;
    },
    describe: (r) => `Use the word ${quote(r.word)} at least ${plural(r.min, 'time')}.`,
  },
  no_commas: {
    params: {},
    check: (t) => {
      const n = (t.match(/[,，]/g) ?? []).length;
      return n === 0 ? null : `The reply contains ${plural(n, 'comma')}; it must contain none.`;
    },
    describe: () => 'Do not use any commas.',
  },
  json_object: {
    params: { keys: 'texts' },
    check: (t, r) => {
      let value: unknown;
      try {
        value = JSON.parse(unfence(t).trim());
      } catch {
        return 'The reply is not valid JSON.';
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return 'The reply must be a JSON object ({...}).';
      }
      const missing = r.keys.filter((k) => !Object.prototype.hasOwnProperty.call(value, k));
      return missing.length === 0 ? null : `The JSON object lacks the keys ${missing.map(quote).join(', ')}.`;
    },
    describe: (r) => `Reply with a JSON object only, with the keys ${r.keys.map(quote).join(', ')}.`,
  },
  bullet_count: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = bulletLines(t).length;
      return n === r.n ? null : `The reply has ${plural(n, 'bullet point')}; it must have exactly ${r.n}.`;
    },
    describe: (r) => `Use exactly ${plural(r.n, 'bullet point')} (lines starting with "- ").`,
  },
  numbered_count: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = numberedLines(t).length;
      return n === r.n ? null : `The reply has ${plural(n, 'numbered item')}; it must have exactly ${r.n}.`;
    },
    describe: (r) => `Give exactly ${plural(r.n, 'numbered item')} (1. 2. 3. …).`,
  },
  all_lowercase: {
    params: {},
    check: (t) =>
      letters(t) && t === t.toLowerCase() ? null : 'The reply must be written entirely in lowercase letters.',
    describe: () => 'Write everything in lowercase letters.',
  },
  all_uppercase: {
    params: {},
    check: (t) =>
      letters(t) && t === t.toUpperCase() ? null : 'The reply must be written entirely in capital letters.',
    describe: () => 'Write everything in capital letters.',
  },
  starts_with: {
    params: { phrase: 'text' },
    check: (t, r) =>
      t.trim().toLowerCase().startsWith(r.phrase.trim().toLowerCase())
        ? null
        : `The reply must start with ${quote(r.phrase)}.`,
    describe: (r) => `Start your reply with ${quote(r.phrase)}.`,
  },
  ends_with: {
    params: { phrase: 'text' },
    check: (t, r) =>
      t.trim().toLowerCase().endsWith(r.phrase.trim().toLowerCase())
        ? null
        : `The reply must end with ${quote(r.phrase)}, with nothing after it.`,
    describe: (r) => `End your reply with ${quote(r.phrase)}, with nothing after it.`,
  },
  paragraph_count: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = paragraphs(t).length;
      return n === r.n
        ? null
        : `The reply has ${plural(n, 'paragraph')}; it must have exactly ${r.n}, separated by blank lines.`;
    },
    describe: (r) => `Write exactly ${plural(r.n, 'paragraph')}, separated by blank lines.`,
  },
  title: {
    params: {},
    check: (t) => (/<<[^<>\n]*\S[^<>\n]*>>/.test(t) ? null : 'The reply needs a title in double angle brackets, like <<My title>>.'),
    describe: () => 'Give your reply a title wrapped in double angle brackets, like <<My title>>.',
  },
  quoted: {
    params: {},
    check: (t) => {
      const s = t.trim();
      const ok = s.length >= 2 && /^["“]/.test(s) && /["”]$/.test(s);
      return ok ? null : 'The whole reply must be wrapped in double quotation marks.';
    },
    describe: () => 'Wrap your entire reply in double quotation marks.',
  },
  postscript: {
    params: { marker: 'text' },
    check: (t, r) => {
      const marker = r.marker.trim().toLowerCase();
      const ok = t.split('\n').some((l) => l.trim().toLowerCase().startsWith(marker));
      return ok ? null : `The reply must end with a postscript starting with ${quote(r.marker)}.`;
    },
    describe: (r) => `Add a postscript at the end starting with ${quote(r.marker)}.`,
  },
  placeholder_count: {
    params: { min: 'count' },
    check: (t, r) => {
      const n = (t.match(/\[[^[\]\n]*[^[\]\n\s][^[\]\n]*\]/g) ?? []).length;
      return n >= r.min
        ? null
        : `The reply has ${plural(n, 'placeholder')} in square brackets; it needs at least ${r.min}.`;
    },
    describe: (r) => `Include at least ${plural(r.min, 'placeholder')} in square brackets, like [name].`,
  },
  max_chars: {
    params: { n: 'count' },
    check: (t, r) => {
      const n = [...t.trim()].length;
      return n <= r.n ? null : `The reply has ${plural(n, 'character')}; it must have at most ${r.n}.`;
    },
    describe: (r) => `Use at most ${plural(r.n, 'character')}.`,
  },
  no_digits: {
    params: {},
    check: (t) => (/\d/.test(t) ? 'The reply must not contain digits; write numbers as words.' : null),
    describe: () => 'Do not use any digits; write numbers as words.',
  },
  section_count: {
    params: { marker: 'text', n: 'count' },
    check: (t, r) => {
      const re = new RegExp(`^\\s*(?:#+\\s*)?${r.marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\d+`, 'i');
      const n = t.split('\n').filter((l) => re.test(l)).length;
      return n === r.n
        ? null
        : `The reply has ${plural(n, 'section')} marked "${r.marker} N"; it must have exactly ${r.n}.`;
    },
    describe: (r) => `Split your reply into exactly ${plural(r.n, 'section')}, each starting with "${r.marker} 1", "${r.marker} 2", ….`,
  },
};

export const RULE_TYPES = Object.keys(SPECS) as RuleType[];

function specOf<T extends RuleType>(rule: RuleOf<T>): RuleSpec<T> {
  return SPECS[rule.type as T] as RuleSpec<T>;
}

/** Why the text breaks `rule`, or null when it follows it. */
export function checkRule(text: string, rule: Rule): string | null {
  return specOf(rule).check(text, rule);
}

export function describeRule(rule: Rule): string {
  return specOf(rule).describe(rule);
}

/** Checks every rule; the result lists each failure in words. */
export function checkRules(text: string, rules: readonly Rule[]): CheckResult {
  const failures: string[] = [];
  for (const rule of rules) {
    const why = checkRule(text, rule);
    if (why !== null) failures.push(why);
  }
  const pass = failures.length === 0;
  return {
    pass,
    failures,
    fraction: rules.length === 0 ? 1 : (rules.length - failures.length) / rules.length,
    message: pass
      ? `All ${plural(rules.length, 'rule')} followed.`
      : `${plural(failures.length, 'rule')} of ${rules.length} broken: ${failures.join(' ')}`,
  };
}

/**
 * Validates an untrusted rule (from an imported file). `where` names its place for the error message
 * ("line 4, rule 2").
 */
export function parseRule(value: unknown, where: string): Rule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('bad-input', `${where}: a rule must be an object like {"type": "max_words", "n": 50}.`);
  }
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string' || !(type in SPECS)) {
    throw new AppError(
      'bad-input',
      `${where}: unknown rule type ${JSON.stringify(type)}. Known types: ${RULE_TYPES.join(', ')}.`,
    );
  }
  const spec = SPECS[type as RuleType] as RuleSpec<RuleType>;
  const out: Record<string, unknown> = { type };
  for (const [name, kind] of Object.entries(spec.params) as [string, ParamKind][]) {
    const v = obj[name];
    const bad = (want: string) =>
      new AppError('bad-input', `${where}: rule "${type}" needs "${name}" as ${want} (got ${JSON.stringify(v)}).`);
    if (kind === 'count') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1_000_000) throw bad('a whole number ≥ 0');
      out[name] = v;
    } else if (kind === 'text') {
      if (typeof v !== 'string' || v.trim() === '' || v.length > 200) throw bad('a non-empty string (≤ 200 characters)');
      out[name] = v;
    } else {
      if (!Array.isArray(v) || v.length === 0 || v.some((w) => typeof w !== 'string' || w.trim() === '' || w.length > 200)) {
        throw bad('a non-empty list of non-empty strings');
      }
      out[name] = [...(v as string[])];
    }
  }
  const extra = Object.keys(obj).filter((k) => k !== 'type' && !(k in spec.params));
  if (extra.length > 0) {
    throw new AppError('bad-input', `${where}: rule "${type}" has unknown fields ${extra.map(quote).join(', ')}.`);
  }
  return out as Rule;
}
