import { findJsonObjects } from './lenient-json.ts';
import type { ParsedFeedback, Verdict } from './types.ts';

/**
 * Reading a critique into structured feedback. Small models answer in every shape: JSON (fenced, with trailing
 * commas or single quotes), Markdown headings and lists, "Score: 7/10", "7 out of 10", a verdict word, or just
 * "NO ISSUES". The parser tries JSON first, then labelled text, then phrases anywhere in the text.
 *
 * Status: 'unparsed' = nothing recognised (feedback is null); 'ok' = a score and a verdict (or an explicit
 * "no issues"); 'partial' = something recognised, but not both.
 */
export type ParseStatus = 'ok' | 'partial' | 'unparsed';

export interface FeedbackParse {
  feedback: ParsedFeedback | null;
  parseStatus: ParseStatus;
}

type Field = 'weaknesses' | 'suggestions' | 'score' | 'verdict' | 'noIssues' | 'needsWork';

/** Labels (JSON keys or text headings, lowercased) → field. Order matters: the first match wins. */
const LABELS: [Field, RegExp][] = [
  ['noIssues', /^(?:no[ _-]?(?:issues?|problems?)(?: found)?|lgtm|looks[ _-]?good|nothing[ _-]?to[ _-]?fix|no[ _-]?changes[ _-]?needed)$/],
  ['needsWork', /^(?:needs?[ _-]?(?:revision|improvement|work|changes|fix(?:es|ing)?))$/],
  ['score', /\b(?:score|rating|grade|mark)\b/],
  ['verdict', /\b(?:verdict|judge?ment|decision|conclusion|correctness|is[ _-]?correct|correct|result|assessment|status|pass(?:ed)?)\b/],
  [
    'weaknesses',
    /\b(?:weakness(?:es)?|issues?|problems?|errors?|mistakes?|flaws?|critique|criticisms?|cons|concerns|shortcomings?|areas? (?:for|of|to) improve(?:ment)?|what(?:'s| is) wrong)\b/,
  ],
  [
    'suggestions',
    /\b(?:suggest(?:ions?|ed (?:fix(?:es)?|changes|improvements))?|improvements?|fix(?:es)?|recommendations?|how to (?:fix|improve)|actionable(?: feedback)?|next steps?|changes|advice|tips?)\b/,
  ],
];

function fieldOfLabel(label: string): Field | null {
  const l = label
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/_+/g, ' ')
    .toLowerCase()
    .trim();
  for (const [field, re] of LABELS) if (re.test(l)) return field;
  return null;
}

const NONE_ITEM =
  /^(?:none|n\/?a|nothing|nil|null|-|—|not applicable|no (?:weaknesses|issues?|suggestions|problems|errors|mistakes|changes(?: needed)?|further (?:suggestions|changes|improvements)(?: needed)?)(?: found)?)[.!]?$/i;

function cleanItem(s: string): string {
  return s
    .replace(/^\s*(?:[-*•+]|\d+[.)]|\(?[a-z]\))\s+/i, '')
    .replace(/\*\*|__/g, '')
    .replace(/^["'“”]+|["'“”]+$/g, '')
    .trim();
}

function toItems(value: unknown): string[] {
  const out: string[] = [];
  const add = (s: string) => {
    for (const line of s.split(/\r?\n/)) {
      const item = cleanItem(line);
      if (item !== '' && !NONE_ITEM.test(item) && !out.includes(item)) out.push(item);
    }
  };
  const walk = (v: unknown, depth: number) => {
    if (depth > 3 || v === null || v === undefined || v === false) return;
    if (typeof v === 'string') add(v);
    else if (typeof v === 'number' || v === true) add(String(v));
    else if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
    else if (typeof v === 'object') {
      const parts = Object.values(v as Record<string, unknown>).filter((x) => typeof x === 'string' || typeof x === 'number');
      if (parts.length > 0) add(parts.join(' — '));
    }
  };
  walk(value, 0);
  return out;
}

/** "7/10", "7 out of 10", "85/100", "80%", "8.5", "7" → a 1–10 score; null when it is not one. */
export function parseScoreText(raw: string): number | null {
  // An echoed template slot ("<1-10>") is not a score.
  const s = raw.replace(/\*\*|__/g, '').replace(/<[^<>\n]*>/g, ' ');
  let value: number | null = null;
  const ratio = /(-?\d+(?:\.\d+)?)\s*(?:\/|out of|of)\s*(\d+(?:\.\d+)?)/i.exec(s);
  const percent = /(\d+(?:\.\d+)?)\s*%/.exec(s);
  // A denominator alone ("/10" left after an empty slot) is not a score.
  const plain = /(-?\d+(?:\.\d+)?)/.exec(s.replace(/(?:\/|out of)\s*\d+(?:\.\d+)?/gi, ' '));
  if (ratio) {
    const x = Number(ratio[1]);
    const y = Number(ratio[2]);
    if (y > 0 && x >= 0 && x <= y) value = (10 * x) / y;
  } else if (percent) {
    const x = Number(percent[1]);
    if (x <= 100) value = x / 10;
  } else if (plain) {
    const x = Number(plain[1]);
    if (x >= 0 && x <= 10) value = x;
  }
  if (value === null || !Number.isFinite(value)) return null;
  return Math.round(Math.min(10, Math.max(1, value)) * 10) / 10;
}

const CORRECT_WORDS =
  /\b(?:correct|right|accurate|pass(?:ed|es)?|good|acceptable|valid|satisfactory|fine|ok(?:ay)?|approved?|lgtm|complete|perfect|flawless)\b/;
const INCORRECT_WORDS =
  /\b(?:(?:partially|partly|mostly|almost|not quite|not entirely|not fully|not completely|not|isn't|is not|aren't|are not) (?:correct|right|accurate|acceptable|valid|good)|incorrect|wrong|inaccurate|fail(?:ed|s)?|invalid|unacceptable|poor|bad|flawed|erroneous|partial(?:ly)?|needs? (?:work|improvement|revision|changes|fixing)|revise)\b/;

/** A verdict from a short phrase ("Correct", "needs work", "not correct", "<correct or incorrect>" → unknown). */
export function classifyVerdict(raw: string): Verdict {
  const s = raw.toLowerCase().replace(/\*\*|__/g, '').trim();
  if (s === '') return 'unknown';
  if (/^(?:yes|true|pass)\W*$/.test(s)) return 'correct';
  if (/^(?:no|false|fail)\W*$/.test(s)) return 'incorrect';
  const bad = INCORRECT_WORDS.test(s);
  const good = CORRECT_WORDS.test(s.replace(new RegExp(INCORRECT_WORDS.source, 'g'), ' '));
  // Both words: an echoed template ("correct or incorrect", "<correct|incorrect>") says nothing; otherwise
  // any problem named means the answer needs work.
  if (bad && good) return /\bor\b|[/|]/.test(s) ? 'unknown' : 'incorrect';
  if (bad) return 'incorrect';
  if (good) return 'correct';
  return 'unknown';
}

interface Collected {
  weaknesses: string[];
  suggestions: string[];
  score: number | null;
  verdict: Verdict;
  /** true / false when stated, null when not. */
  noIssues: boolean | null;
  /** A weaknesses field or section was given and held only "none"-like items. */
  weaknessesNone: boolean;
}

function empty(): Collected {
  return { weaknesses: [], suggestions: [], score: null, verdict: 'unknown', noIssues: null, weaknessesNone: false };
}

function applyField(c: Collected, field: Field, value: unknown): void {
  switch (field) {
    case 'weaknesses': {
      const items = toItems(value);
      if (items.length === 0) c.weaknessesNone = true;
      c.weaknesses.push(...items.filter((x) => !c.weaknesses.includes(x)));
      break;
    }
    case 'suggestions':
      c.suggestions.push(...toItems(value).filter((x) => !c.suggestions.includes(x)));
      break;
    case 'score':
      if (c.score === null) {
        if (typeof value === 'number') c.score = parseScoreText(String(value));
        else if (typeof value === 'string') c.score = parseScoreText(value);
      }
      break;
    case 'verdict':
      if (c.verdict === 'unknown') {
        if (typeof value === 'boolean') c.verdict = value ? 'correct' : 'incorrect';
        else if (typeof value === 'string') c.verdict = classifyVerdict(value);
      }
      break;
    case 'noIssues':
      if (typeof value === 'boolean') c.noIssues = value;
      else if (typeof value === 'string') c.noIssues = classifyVerdict(value) === 'correct';
      break;
    case 'needsWork':
      if (typeof value === 'boolean') c.noIssues = c.noIssues ?? !value;
      if (value === true && c.verdict === 'unknown') c.verdict = 'incorrect';
      break;
  }
}

/** Collects recognised keys of a JSON object (looking one level into wrappers like {"feedback": {...}}). */
function fromJson(obj: Record<string, unknown>, c: Collected, depth = 0): number {
  let hits = 0;
  for (const [key, value] of Object.entries(obj)) {
    const field = fieldOfLabel(key);
    if (field) {
      applyField(c, field, value);
      hits++;
    } else if (depth < 2 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      hits += fromJson(value as Record<string, unknown>, c, depth + 1);
    }
  }
  return hits;
}

// "Score: 7/10", "**Weaknesses:**", "### Suggestions", "- Verdict - correct", "1. Issues:"
const LABEL_LINE =
  /^\s*(?:#{1,6}\s*)?(?:[-*•]\s*)?(?:\d+[.)]\s*)?(?:\*\*|__)?([A-Za-z][A-Za-z '/()0-9–-]{1,40}?)(?:\*\*|__)?\s*(?::|：|\s[-–—]\s)\s*(?:\*\*|__)?\s*(.*)$/;
const HEADING_LINE = /^\s*(?:#{1,6}\s+(.+?)\s*#*|(?:\*\*|__)([^*_]+?)(?:\*\*|__):?)\s*$/;

function labelOf(line: string): { field: Field | null; label: string; rest: string } | null {
  const h = HEADING_LINE.exec(line);
  if (h) {
    const label = (h[1] ?? h[2]).trim();
    const field = fieldOfLabel(label.replace(/:$/, ''));
    // A '#' heading or a bold line ending in ':' starts a section (unrecognised ones end the current one);
    // any other bold line is just emphasised content.
    if (field || h[1] !== undefined || label.endsWith(':') || /:\s*$/.test(line)) {
      return { field, label, rest: '' };
    }
    return null;
  }
  const m = LABEL_LINE.exec(line);
  if (m && m[1].trim().split(/\s+/).length <= 3) {
    const field = fieldOfLabel(m[1]);
    if (field) return { field, label: m[1].trim(), rest: m[2].replace(/(?:\*\*|__)\s*$/, '').trim() };
  }
  return null;
}

/** Collects labelled sections and lists from Markdown-ish text. */
function fromText(text: string, c: Collected): number {
  let hits = 0;
  let current: Field | null = null;
  let buffer: string[] = [];
  const flush = () => {
    if (current && buffer.length > 0) {
      const body = buffer.join('\n');
      if (current === 'weaknesses' || current === 'suggestions') applyField(c, current, body);
      else if (current === 'noIssues') c.noIssues = c.noIssues ?? classifyVerdict(body) !== 'incorrect';
      else applyField(c, current, body);
    }
    buffer = [];
  };
  for (const line of text.split(/\r?\n/)) {
    const l = labelOf(line);
    if (l) {
      flush();
      current = l.field;
      if (l.field) {
        hits++;
        if (l.field === 'noIssues' && l.rest === '') c.noIssues = c.noIssues ?? true;
        if (l.rest !== '') buffer.push(l.rest);
        // A one-line label ("Score: 7/10", "Verdict: correct") closes itself.
        if (l.rest !== '' && (l.field === 'score' || l.field === 'verdict')) {
          flush();
          current = null;
        }
      }
      continue;
    }
    if (current) buffer.push(line);
  }
  flush();
  return hits;
}

const SCORE_ANYWHERE = [
  /\b(?:score|rating|grade|rate (?:it|this)|give (?:it|this)(?: a)?)\b[^\d\n/]{0,20}(\d+(?:\.\d+)?(?:\s*%|\s*(?:\/|out of)\s*\d+)?)/gi,
  /(\d+(?:\.\d+)?\s*(?:\/|out of)\s*(?:10|100|5))\b/gi,
];

// "The answer is correct", "this solution looks right", "the response is not accurate", "it's wrong".
const VERDICT_SENTENCE =
  /\b(?:answer|solution|response|result|reply|calculation|reasoning|it|this|that|everything)(?:'s| is| was| looks| seems| appears(?: to be)?)\s+((?:not |entirely |completely |fully |mostly |partially |almost |all |quite )*(?:correct|right|accurate|incorrect|wrong|inaccurate|fine|good|valid|invalid))\b/gi;

const NO_ISSUES_PHRASE =
  /\bno issues?\b|\bno (?:problems|errors|mistakes|weaknesses)(?: (?:found|detected|at all))?\b|\bnothing (?:to|that needs to be) (?:fix|improve|change)|\bno (?:changes|further (?:changes|improvements|edits)) (?:are )?(?:needed|required|necessary)\b|\blooks (?:correct|good|great|perfect|fine)\b|\blgtm\b/i;

/** Scans unlabelled prose for a score, a verdict and "no issues". */
function fromProse(text: string, c: Collected): number {
  let hits = 0;
  // Drop the scale itself ("(1-10)", "on a scale of 1 to 10") so it is not read as the score.
  const plain = text
    .replace(/\*\*|__/g, '')
    .replace(/<[^<>\n]*>/g, ' ')
    .replace(/\(?\b(?:from |on a scale (?:of|from) )?1\s*(?:-|–|to)\s*10\b\)?/gi, ' ');
  if (c.score === null) {
    for (const re of SCORE_ANYWHERE) {
      let last: string | null = null;
      for (const m of plain.matchAll(re)) last = m[1];
      if (last !== null) {
        const s = parseScoreText(last);
        if (s !== null) {
          c.score = s;
          hits++;
          break;
        }
      }
    }
  }
  if (c.verdict === 'unknown') {
    const found = [...plain.matchAll(VERDICT_SENTENCE)].map((m) => classifyVerdict(m[1]));
    // Any part found wrong means the whole needs work.
    if (found.includes('incorrect')) c.verdict = 'incorrect';
    else if (found.includes('correct')) c.verdict = 'correct';
    if (found.length > 0) hits++;
  }
  if (c.noIssues === null && NO_ISSUES_PHRASE.test(plain)) {
    c.noIssues = true;
    hits++;
  }
  return hits;
}

/** Parses a critique. Never throws; text that says nothing recognisable comes back 'unparsed'. */
export function parseFeedback(text: string): FeedbackParse {
  const c = empty();
  let hits = 0;
  for (const p of findJsonObjects(text)) {
    const n = fromJson(p.value as Record<string, unknown>, c);
    hits += n;
    if (n > 0) break;
  }
  if (hits === 0) hits += fromText(text, c);
  hits += fromProse(text, c);

  // "No issues" is said outright, or by an empty weaknesses list ("Weaknesses: none"); contradicted by a listed
  // weakness or an 'incorrect' verdict, it does not count.
  const saidNoIssues = c.noIssues === true || (c.noIssues === null && c.weaknessesNone);
  const noIssues = saidNoIssues && c.weaknesses.length === 0 && c.verdict !== 'incorrect';
  let verdict = c.verdict;
  if (noIssues && verdict === 'unknown') verdict = 'correct';

  const recognised =
    hits > 0 &&
    (c.score !== null || c.verdict !== 'unknown' || c.noIssues !== null || c.weaknessesNone || c.weaknesses.length > 0 || c.suggestions.length > 0);
  if (!recognised) return { feedback: null, parseStatus: 'unparsed' };

  const feedback: ParsedFeedback = {
    weaknesses: c.weaknesses,
    suggestions: c.suggestions,
    score: c.score,
    verdict,
    noIssues,
  };
  const ok = noIssues || (c.score !== null && verdict !== 'unknown');
  return { feedback, parseStatus: ok ? 'ok' : 'partial' };
}
