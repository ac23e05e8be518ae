import { AppError, type ErrorCode } from '../errors.ts';
import { decodeUtf8, splitLines, TextEncodingError } from '../io/text-decode.ts';
import { parseCsv } from './csv.ts';
import { parseNumberText } from './numeric-answer.ts';
import { parseRule, type Rule } from './rules.ts';
import { assignSplit, DEFAULT_EVAL_FRACTION, shortHash } from './split.ts';
import type { BuiltInTaskKind, Split, Task } from './types.ts';

/**
 * Import of the user's own prompts: JSONL (`{"prompt", "answer"?, "rules"?, "split"?, "kind"?}` per line),
 * CSV (a header with `prompt` and optionally `answer`, `split`, `rules`), or plain text with one prompt per line.
 * Lines end with \r\n, \n or \r.
 * The file is untrusted: every record is validated, every problem is reported with its line, and nothing is
 * imported unless the whole file is valid.
 */
export type ImportFormat = 'jsonl' | 'csv' | 'lines';

export interface ImportOptions {
  /** Default 'auto': from the file name's extension, else from the content. */
  format?: ImportFormat | 'auto';
  fileName?: string;
  /** Default 5000. */
  maxPrompts?: number;
  /** Default 8000 characters. */
  maxPromptChars?: number;
  /** Share of tasks without a `split` that go to eval. Default 0.25. */
  evalFraction?: number;
}

export interface ImportIssue {
  /** 1-based line in the file. */
  line: number;
  message: string;
}

export interface ImportResult {
  tasks: Task[];
  format: ImportFormat;
  /** Things skipped or ignored that did not stop the import (repeated prompts, unknown columns). */
  warnings: ImportIssue[];
}

export const IMPORT_LIMITS = { maxPrompts: 5000, maxPromptChars: 8000, maxFileChars: 20_000_000 } as const;

/** Thrown when a file cannot be imported; `issues` lists every problem found, each with its line. */
export class TaskImportError extends AppError {
  readonly issues: ImportIssue[];
  constructor(issues: ImportIssue[], summary?: string, code: ErrorCode = 'bad-input') {
    const shown = issues.slice(0, 5).map((i) => `line ${i.line}: ${i.message}`);
    const more = issues.length > 5 ? ` …and ${issues.length - 5} more problems.` : '';
    super(code, summary ?? `The file was not imported. Fix these and try again: ${shown.join(' ')}${more}`);
    this.name = 'TaskImportError';
    this.issues = issues;
  }
}

/** A record as read from the file, before validation. */
interface RawRecord {
  line: number;
  prompt: unknown;
  answer?: unknown;
  rules?: unknown;
  split?: unknown;
  kind?: unknown;
}

export function detectFormat(text: string, fileName?: string): ImportFormat {
  const ext = fileName?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl';
  if (ext === 'csv') return 'csv';
  if (ext === 'txt') return 'lines';
  const first = splitLines(text.replace(/^\uFEFF/, '')).find((l) => l.trim() !== '') ?? '';
  if (first.trim().startsWith('{')) return 'jsonl';
  if (/^\s*"?prompt"?\s*(,|$)/i.test(first) && first.includes(',')) return 'csv';
  return 'lines';
}

function readJsonl(text: string, issues: ImportIssue[], warnings: ImportIssue[]): RawRecord[] {
  const out: RawRecord[] = [];
  const known = new Set(['prompt', 'answer', 'rules', 'split', 'kind', 'id']);
  splitLines(text).forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      issues.push({ line, message: 'not valid JSON; each line must be one JSON object like {"prompt": "..."}.' });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ line, message: 'each line must be a JSON object like {"prompt": "..."}.' });
      return;
    }
    const obj = value as Record<string, unknown>;
    const unknown = Object.keys(obj).filter((k) => !known.has(k));
    if (unknown.length > 0) warnings.push({ line, message: `ignored unknown fields ${unknown.join(', ')}.` });
    out.push({ line, prompt: obj.prompt, answer: obj.answer, rules: obj.rules, split: obj.split, kind: obj.kind });
  });
  return out;
}

function readCsv(text: string, issues: ImportIssue[], warnings: ImportIssue[]): RawRecord[] {
  const records = parseCsv(text);
  if (records.length === 0) return [];
  const header = records[0].fields.map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('prompt') < 0) {
    issues.push({
      line: records[0].line,
      message: `the first line must be a header naming a "prompt" column (found: ${header.join(', ') || 'nothing'}).`,
    });
    return [];
  }
  const known = new Set(['prompt', 'answer', 'split', 'rules', 'kind']);
  const unknown = header.filter((h) => !known.has(h));
  if (unknown.length > 0) warnings.push({ line: records[0].line, message: `ignored unknown columns ${unknown.join(', ')}.` });
  const out: RawRecord[] = [];
  for (const rec of records.slice(1)) {
    if (rec.fields.length !== header.length) {
      issues.push({
        line: rec.line,
        message: `has ${rec.fields.length} fields but the header has ${header.length}; put fields containing commas in double quotes.`,
      });
      continue;
    }
    const get = (name: string) => (col(name) >= 0 && rec.fields[col(name)].trim() !== '' ? rec.fields[col(name)] : undefined);
    let rules: unknown;
    const rulesText = get('rules');
    if (rulesText !== undefined) {
      try {
        rules = JSON.parse(rulesText);
      } catch {
        issues.push({ line: rec.line, message: 'the "rules" column must hold a JSON list of rules.' });
        continue;
      }
    }
    out.push({ line: rec.line, prompt: rec.fields[col('prompt')], answer: get('answer'), rules, split: get('split'), kind: get('kind') });
  }
  return out;
}

function readLines(text: string): RawRecord[] {
  const out: RawRecord[] = [];
  splitLines(text).forEach((raw, idx) => {
    if (raw.trim() !== '') out.push({ line: idx + 1, prompt: raw.trim() });
  });
  return out;
}

function validate(rec: RawRecord, maxChars: number, evalFraction: number, issues: ImportIssue[]): Task | null {
  const bad = (message: string) => {
    issues.push({ line: rec.line, message });
    return null;
  };
  if (typeof rec.prompt !== 'string') return bad('"prompt" is missing or not text.');
  const prompt = rec.prompt.trim();
  if (prompt === '') return bad('the prompt is empty.');
  if (prompt.length > maxChars) {
    return bad(`the prompt has ${prompt.length} characters; the limit is ${maxChars}. Shorten it or split it.`);
  }

  let answer: number | undefined;
  if (rec.answer !== undefined && rec.answer !== null && rec.answer !== '') {
    const n =
      typeof rec.answer === 'number' && Number.isFinite(rec.answer)
        ? rec.answer
        : typeof rec.answer === 'string'
          ? parseNumberText(rec.answer)?.value
          : undefined;
    if (n === undefined) {
      return bad(`"answer" must be a number like 42, 3.5 or 3/4 (got ${JSON.stringify(rec.answer).slice(0, 40)}).`);
    }
    answer = n;
  }

  let rules: Rule[] | undefined;
  if (rec.rules !== undefined && rec.rules !== null) {
    if (!Array.isArray(rec.rules) || rec.rules.length === 0) {
      return bad('"rules" must be a non-empty list like [{"type": "max_words", "n": 50}].');
    }
    try {
      rules = rec.rules.map((r, i) => parseRule(r, `rule ${i + 1}`));
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
  }
  if (answer !== undefined && rules !== undefined) return bad('give either "answer" (a math task) or "rules", not both.');

  const inferred: BuiltInTaskKind = answer !== undefined ? 'math' : rules !== undefined ? 'instruction' : 'open';
  if (rec.kind !== undefined && rec.kind !== null && rec.kind !== '') {
    if (rec.kind !== 'math' && rec.kind !== 'instruction' && rec.kind !== 'open') {
      return bad(`"kind" must be "math", "instruction" or "open" (got ${JSON.stringify(rec.kind).slice(0, 40)}).`);
    }
    if (rec.kind !== inferred) {
      const need = rec.kind === 'math' ? 'a numeric "answer"' : rec.kind === 'instruction' ? '"rules"' : 'neither "answer" nor "rules"';
      return bad(`kind "${rec.kind}" needs ${need}.`);
    }
  }

  const id = `imp-${shortHash(prompt)}`;
  let split: Split;
  if (rec.split === undefined || rec.split === null || rec.split === '') {
    split = assignSplit(id, evalFraction);
  } else if (typeof rec.split === 'string' && ['train', 'eval'].includes(rec.split.trim().toLowerCase())) {
    split = rec.split.trim().toLowerCase() as Split;
  } else {
    return bad(`"split" must be "train" or "eval" (got ${JSON.stringify(rec.split).slice(0, 40)}).`);
  }

  const task: Task = { id, kind: inferred, prompt, split, source: 'import' };
  if (answer !== undefined) task.answer = answer;
  if (rules !== undefined) task.rules = rules;
  return task;
}

/**
 * A task file's bytes as text: strict UTF-8 (a BOM is dropped). Bytes that are not UTF-8 are refused with their
 * line, as TaskImportError with code 'bad-encoding', instead of being imported as replacement characters.
 */
export function decodeTaskFile(bytes: Uint8Array, fileName: string): string {
  try {
    return decodeUtf8(bytes, fileName);
  } catch (e) {
    if (!(e instanceof TextEncodingError)) throw e;
    throw new TaskImportError([{ line: e.line, message: 'holds bytes that are not UTF-8; save the file as UTF-8.' }], e.message, 'bad-encoding');
  }
}

/**
 * Reads and validates a file of prompts. Throws TaskImportError (code 'bad-input') listing every problem with
 * its line when anything is wrong; on success returns the tasks (repeated prompts skipped, with a warning).
 */
export function importTasks(text: string, options: ImportOptions = {}): ImportResult {
  const maxPrompts = options.maxPrompts ?? IMPORT_LIMITS.maxPrompts;
  const maxChars = options.maxPromptChars ?? IMPORT_LIMITS.maxPromptChars;
  const evalFraction = options.evalFraction ?? DEFAULT_EVAL_FRACTION;
  if (text.length > IMPORT_LIMITS.maxFileChars) {
    throw new TaskImportError([], `The file is too large (${text.length} characters; the limit is ${IMPORT_LIMITS.maxFileChars}). Split it into smaller files.`);
  }
  if (text.includes('\u0000')) {
    throw new TaskImportError([], 'This looks like a binary file, not text. Import a .jsonl, .csv or .txt file.');
  }
  const format = !options.format || options.format === 'auto' ? detectFormat(text, options.fileName) : options.format;
  const issues: ImportIssue[] = [];
  const warnings: ImportIssue[] = [];

  let records: RawRecord[];
  try {
    records = format === 'jsonl' ? readJsonl(text, issues, warnings) : format === 'csv' ? readCsv(text, issues, warnings) : readLines(text);
  } catch (e) {
    if (e instanceof AppError) throw new TaskImportError([], `The file was not imported: ${e.message}`);
    throw e;
  }
  if (issues.length === 0 && records.length === 0) {
    throw new TaskImportError([], 'The file holds no prompts. Put one prompt per line (or per JSONL record / CSV row).');
  }
  if (records.length > maxPrompts) {
    throw new TaskImportError(
      [],
      `The file has ${records.length} prompts; at most ${maxPrompts} can be imported at once. Split it into smaller files.`,
    );
  }

  const tasks: Task[] = [];
  const seen = new Map<string, number>();
  for (const rec of records) {
    const task = validate(rec, maxChars, evalFraction, issues);
    if (!task) continue;
    const first = seen.get(task.id);
    if (first !== undefined) {
      warnings.push({ line: rec.line, message: `repeats the prompt on line ${first}; skipped.` });
      continue;
    }
    seen.set(task.id, rec.line);
    tasks.push(task);
  }
  if (issues.length > 0) throw new TaskImportError(issues);
  return { tasks, format, warnings };
}
