/**
 * Parsing and validating TRL-format JSONL (one JSON object per line; blank lines skipped). A bad row gets
 * AppError('bad-input') naming the line and the field, and what shape was expected.
 */
import { AppError } from '../errors.ts';
import { splitLines } from '../io/text-decode.ts';
import type { ChatMessage } from '../text/types.ts';
import type { TextOrMessages, TrainRow } from './data-types.ts';

const ROLES = ['system', 'user', 'assistant'] as const;

const FORMATS_HELP =
  'Each line must be one of: {"messages": [...]}, {"prompt": ..., "completion": ...}, ' +
  '{"prompt": ..., "chosen": ..., "rejected": ...}, {"input_ids": [...], "labels": [...]} or {"text": "..."}.';

function bad(line: number, message: string): never {
  throw new AppError('bad-input', `Line ${line}: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMessages(line: number, field: string, v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) bad(line, `"${field}" must be a non-empty list of {"role", "content"} messages.`);
  return v.map((m, i) => {
    if (!isObject(m)) bad(line, `"${field}"[${i}] must be an object with "role" and "content".`);
    const role = m.role;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      bad(line, `"${field}"[${i}].role is ${JSON.stringify(role)}; it must be "system", "user" or "assistant".`);
    }
    if (typeof m.content !== 'string') bad(line, `"${field}"[${i}].content must be a string.`);
    return { role: role as ChatMessage['role'], content: m.content };
  });
}

function parseTextOrMessages(line: number, field: string, v: unknown): TextOrMessages {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return parseMessages(line, field, v);
  return bad(line, `"${field}" must be a string or a list of {"role", "content"} messages.`);
}

function parseIds(line: number, field: string, v: unknown, allowIgnore: boolean): number[] {
  if (!Array.isArray(v) || v.length === 0) bad(line, `"${field}" must be a non-empty list of token ids.`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || (x < 0 && !(allowIgnore && x === -100))) {
      bad(line, `"${field}"[${i}] is ${JSON.stringify(x)}; token ids are integers ≥ 0${allowIgnore ? ' (or -100 for no loss)' : ''}.`);
    }
  }
  return v as number[];
}

function sameKind(line: number, fields: Record<string, TextOrMessages>): void {
  const kinds = new Set(Object.values(fields).map((v) => typeof v === 'string'));
  if (kinds.size > 1) {
    bad(line, `${Object.keys(fields).map((k) => `"${k}"`).join(', ')} must all be strings or all be message lists, not a mix.`);
  }
}

function onlyAssistant(line: number, field: string, v: TextOrMessages): void {
  if (typeof v === 'string') return;
  const i = v.findIndex((m) => m.role !== 'assistant');
  if (i >= 0) bad(line, `"${field}"[${i}] has role "${v[i].role}"; ${field} messages must be assistant messages.`);
}

/** One parsed JSON value (already an object) as a training row. */
export function parseRow(obj: unknown, line: number): TrainRow {
  if (!isObject(obj)) bad(line, `expected a JSON object. ${FORMATS_HELP}`);
  if ('input_ids' in obj) {
    const inputIds = parseIds(line, 'input_ids', obj.input_ids, false);
    let labels: number[] | null = null;
    if (obj.labels !== undefined && obj.labels !== null) {
      labels = parseIds(line, 'labels', obj.labels, true);
      if (labels.length !== inputIds.length) {
        bad(line, `"labels" has ${labels.length} entries but "input_ids" has ${inputIds.length}; they must be the same length.`);
      }
    }
    return { kind: 'tokenized', line, inputIds, labels };
  }
  if ('chosen' in obj || 'rejected' in obj) {
    if (!('chosen' in obj) || !('rejected' in obj)) bad(line, 'a preference row needs both "chosen" and "rejected".');
    const chosen = parseTextOrMessages(line, 'chosen', obj.chosen);
    const rejected = parseTextOrMessages(line, 'rejected', obj.rejected);
    if ('prompt' in obj) {
      const prompt = parseTextOrMessages(line, 'prompt', obj.prompt);
      sameKind(line, { prompt, chosen, rejected });
      onlyAssistant(line, 'chosen', chosen);
      onlyAssistant(line, 'rejected', rejected);
      return { kind: 'preference', line, prompt, chosen, rejected };
    }
    // Implicit prompt: the shared leading messages of two full conversations.
    if (typeof chosen === 'string' || typeof rejected === 'string') {
      bad(line, 'a preference row without "prompt" needs "chosen" and "rejected" as message lists that share their opening messages.');
    }
    let k = 0;
    while (k < chosen.length && k < rejected.length && chosen[k].role === rejected[k].role && chosen[k].content === rejected[k].content) k++;
    while (k > 0 && chosen[k - 1].role === 'assistant') k--; // the answers begin at the first differing assistant turn
    if (k === 0) bad(line, '"chosen" and "rejected" share no prompt messages; add a "prompt" field.');
    const [c, r] = [chosen.slice(k), rejected.slice(k)];
    if (c.length === 0 || r.length === 0) bad(line, '"chosen" and "rejected" must each end with an assistant answer.');
    onlyAssistant(line, 'chosen', c);
    onlyAssistant(line, 'rejected', r);
    return { kind: 'preference', line, prompt: chosen.slice(0, k), chosen: c, rejected: r };
  }
  if ('messages' in obj) {
    const messages = parseMessages(line, 'messages', obj.messages);
    if (!messages.some((m) => m.role === 'assistant')) bad(line, '"messages" has no assistant message, so there is nothing to learn.');
    return { kind: 'conversational', line, messages };
  }
  if ('prompt' in obj || 'completion' in obj) {
    if (!('prompt' in obj) || !('completion' in obj)) bad(line, 'a prompt-completion row needs both "prompt" and "completion".');
    const prompt = parseTextOrMessages(line, 'prompt', obj.prompt);
    const completion = parseTextOrMessages(line, 'completion', obj.completion);
    sameKind(line, { prompt, completion });
    onlyAssistant(line, 'completion', completion);
    return { kind: 'prompt-completion', line, prompt, completion };
  }
  if ('text' in obj) {
    if (typeof obj.text !== 'string' || obj.text.length === 0) bad(line, '"text" must be a non-empty string.');
    return { kind: 'text', line, text: obj.text };
  }
  const keys = Object.keys(obj).slice(0, 5).map((k) => JSON.stringify(k)).join(', ');
  return bad(line, `no known fields (found ${keys || 'none'}). ${FORMATS_HELP}`);
}

/** Parses JSONL text into rows. Throws on the first bad line; an empty file is an error too. */
export function parseJsonl(text: string): TrainRow[] {
  const rows: TrainRow[] = [];
  const lines = splitLines(text.replace(/^\uFEFF/, ''));
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s.length === 0) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch {
      bad(i + 1, 'is not valid JSON. JSONL files hold one JSON object per line.');
    }
    rows.push(parseRow(obj, i + 1));
  }
  if (rows.length === 0) throw new AppError('bad-input', `The data file has no rows. ${FORMATS_HELP}`);
  return rows;
}
