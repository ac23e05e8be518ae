/**
 * Rows → token sequences with loss masks, the way TRL builds them:
 *  - conversational: the model's chat template renders the conversation; loss is taken on the tokens of
 *    each assistant turn (its content and the end-of-turn marker the template writes after it). The turn's
 *    span is found by rendering the conversation up to the turn (with the generation prompt) and through
 *    the turn, and checking that both are prefixes of the full text.
 *  - prompt-completion: loss on the completion only. Strings are concatenated (prompt + completion + EOS);
 *    message lists go through the chat template (prompt with the generation prompt, then the whole).
 *  - text: loss on every token, EOS appended.
 *  - preference: a chosen and a rejected sequence built like prompt-completion, sharing the prompt.
 *  - tokenized: passed through (labels default to input_ids).
 * Token spans come from tokenizing the full text and checking that each boundary's prefix tokenizes to a
 * prefix of it; where a tokenizer merges across a boundary, the text is tokenized piece by piece instead,
 * so that a mask never splits a token. Over-long sequences keep their start and are counted.
 */
import { AppError } from '../errors.ts';
import type { ChatMessage, TextTokenizer } from '../text/types.ts';
import {
  IGNORE_INDEX,
  type EncodeReport,
  type PreferenceExample,
  type SftExample,
  type TextOrMessages,
  type TokenSequence,
  type TrainRow,
} from './data-types.ts';

export interface EncodeOptions {
  /** Longest sequence; longer ones are truncated (their start is kept). */
  seqLen: number;
}

/** A text split into pieces, the odd-numbered ones (1, 3, …) taking loss. */
interface Pieces {
  text: string;
  /** Character boundaries, ascending, from 0 to text.length. Piece k is [cuts[k], cuts[k+1]). */
  cuts: number[];
  /** supervised[k]: does piece k take loss. */
  supervised: boolean[];
  /** Append an EOS token (supervised if the last piece is). */
  eos: boolean;
}

function fail(line: number, message: string): never {
  throw new AppError('bad-input', `Line ${line}: ${message}`);
}

function render(tok: TextTokenizer, messages: readonly ChatMessage[], addGenerationPrompt: boolean, line: number): string {
  try {
    return tok.applyChatTemplate(messages, { addGenerationPrompt });
  } catch (e) {
    if (e instanceof AppError) throw new AppError(e.code, `Line ${line}: ${e.message}`, { cause: e });
    throw new AppError('tokenizer', `Line ${line}: the chat template failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Pieces of a conversation in which the listed message indices take loss. */
function conversationPieces(tok: TextTokenizer, messages: ChatMessage[], trained: (i: number) => boolean, line: number): Pieces {
  const full = render(tok, messages, false, line);
  const cuts = [0];
  const supervised: boolean[] = [];
  for (let i = 0; i < messages.length; i++) {
    if (!trained(i)) continue;
    const start = render(tok, messages.slice(0, i), true, line);
    const end = render(tok, messages.slice(0, i + 1), false, line);
    if (!full.startsWith(start) || !full.startsWith(end) || end.length < start.length || start.length < cuts[cuts.length - 1]) {
      fail(
        line,
        `the chat template renders message ${i} differently inside the conversation than on its own, so the ` +
          'assistant tokens cannot be located. Use prompt-completion or pre-tokenized rows for this model.',
      );
    }
    if (start.length > cuts[cuts.length - 1]) {
      cuts.push(start.length);
      supervised.push(false);
    }
    if (end.length > start.length) {
      cuts.push(end.length);
      supervised.push(true);
    }
  }
  if (full.length > cuts[cuts.length - 1]) {
    cuts.push(full.length);
    supervised.push(false);
  }
  return { text: full, cuts, supervised, eos: false };
}

/** Pieces of prompt + completion (both strings, or both message lists). */
function promptCompletionPieces(tok: TextTokenizer, prompt: TextOrMessages, completion: TextOrMessages, line: number): Pieces {
  if (typeof prompt === 'string' && typeof completion === 'string') {
    const text = prompt + completion;
    return { text, cuts: [0, prompt.length, text.length], supervised: [false, true], eos: true };
  }
  if (typeof prompt === 'string' || typeof completion === 'string') {
    fail(line, 'prompt and completion must both be strings or both be message lists.');
  }
  const all = [...prompt, ...completion];
  const full = render(tok, all, false, line);
  const start = render(tok, prompt, true, line);
  if (!full.startsWith(start)) {
    fail(line, 'the chat template renders the prompt differently on its own than inside the conversation; use pre-tokenized rows.');
  }
  return { text: full, cuts: [0, start.length, full.length], supervised: [false, true], eos: false };
}

/** Tokenizes pieces: whole text if every boundary is a token boundary, else piece by piece. */
function tokenizePieces(tok: TextTokenizer, p: Pieces): TokenSequence {
  const whole = tok.encode(p.text);
  let tokenCuts: number[] | null = [0];
  for (let k = 1; k < p.cuts.length - 1 && tokenCuts; k++) {
    const prefix = tok.encode(p.text.slice(0, p.cuts[k]));
    const ok = prefix.length <= whole.length && prefix.every((id, i) => id === whole[i]);
    if (ok) tokenCuts.push(prefix.length);
    else tokenCuts = null;
  }
  let ids: number[];
  if (tokenCuts) {
    tokenCuts.push(whole.length);
    ids = whole;
  } else {
    ids = [];
    tokenCuts = [0];
    for (let k = 0; k + 1 < p.cuts.length; k++) {
      ids.push(...tok.encode(p.text.slice(p.cuts[k], p.cuts[k + 1])));
      tokenCuts.push(ids.length);
    }
  }
  const labels = new Int32Array(ids.length + (p.eos ? 1 : 0)).fill(IGNORE_INDEX);
  for (let k = 0; k + 1 < tokenCuts.length; k++) {
    if (!p.supervised[k]) continue;
    for (let t = tokenCuts[k]; t < tokenCuts[k + 1]; t++) labels[t] = ids[t];
  }
  const inputIds = new Int32Array(labels.length);
  inputIds.set(ids);
  if (p.eos) {
    const eos = tok.eosTokenIds[0];
    if (eos === undefined) throw new AppError('tokenizer', 'The tokenizer declares no end-of-sequence token; cannot end completions.');
    inputIds[ids.length] = eos;
    if (p.supervised[p.supervised.length - 1]) labels[ids.length] = eos;
  }
  return { inputIds, labels };
}

function checkIds(seq: TokenSequence, vocabSize: number, line: number): void {
  for (let i = 0; i < seq.inputIds.length; i++) {
    const id = seq.inputIds[i];
    if (id < 0 || id >= vocabSize) fail(line, `token id ${id} at position ${i} is outside the vocabulary (0–${vocabSize - 1}).`);
    const l = seq.labels[i];
    if (l !== IGNORE_INDEX && (l < 0 || l >= vocabSize)) fail(line, `label ${l} at position ${i} is outside the vocabulary (0–${vocabSize - 1}).`);
  }
}

/** Supervised positions after the causal shift: labels[t] ≠ -100 for t ≥ 1. */
export function supervisedCount(labels: Int32Array): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) n++;
  return n;
}

function truncate(seq: TokenSequence, seqLen: number): { seq: TokenSequence; truncated: boolean } {
  if (seq.inputIds.length <= seqLen) return { seq, truncated: false };
  return { seq: { inputIds: seq.inputIds.slice(0, seqLen), labels: seq.labels.slice(0, seqLen) }, truncated: true };
}

/** One SFT row → its token sequence (untruncated). */
export function encodeSftRow(row: TrainRow, tok: TextTokenizer): TokenSequence {
  switch (row.kind) {
    case 'text':
      return tokenizePieces(tok, { text: row.text, cuts: [0, row.text.length], supervised: [true], eos: true });
    case 'conversational':
      return tokenizePieces(tok, conversationPieces(tok, row.messages, (i) => row.messages[i].role === 'assistant', row.line));
    case 'prompt-completion':
      return tokenizePieces(tok, promptCompletionPieces(tok, row.prompt, row.completion, row.line));
    case 'tokenized':
      return { inputIds: Int32Array.from(row.inputIds), labels: Int32Array.from(row.labels ?? row.inputIds) };
    case 'preference':
      return fail(row.line, 'this is a preference row (prompt/chosen/rejected); train it with the DPO method, or give SFT rows.');
  }
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new AppError('bad-input', `The sequence length must be an integer ≥ 2, got ${seqLen}.`);
}

/** SFT rows → examples and a report. Rows with nothing left to learn after truncation are skipped and counted. */
export function encodeSftRows(
  rows: readonly TrainRow[],
  tok: TextTokenizer,
  options: EncodeOptions,
): { examples: SftExample[]; report: EncodeReport } {
  checkSeqLen(options.seqLen);
  const report: EncodeReport = { rows: rows.length, examples: 0, truncated: 0, dropped: 0, supervisedTokens: 0, totalTokens: 0 };
  const examples: SftExample[] = [];
  for (const row of rows) {
    const full = encodeSftRow(row, tok);
    checkIds(full, tok.vocabSize, row.line);
    const { seq, truncated } = truncate(full, options.seqLen);
    if (truncated) report.truncated++;
    const n = supervisedCount(seq.labels);
    if (n === 0) {
      if (!truncated && supervisedCount(full.labels) === 0) {
        fail(row.line, 'no token takes loss (every label is -100, or the answer is empty).');
      }
      report.dropped++;
      continue;
    }
    report.supervisedTokens += n;
    report.totalTokens += seq.inputIds.length;
    examples.push({ ...seq, line: row.line, truncated });
  }
  report.examples = examples.length;
  return { examples, report };
}

/** Preference rows → chosen/rejected pairs and a report. */
export function encodePreferenceRows(
  rows: readonly TrainRow[],
  tok: TextTokenizer,
  options: EncodeOptions,
): { examples: PreferenceExample[]; report: EncodeReport } {
  checkSeqLen(options.seqLen);
  const report: EncodeReport = { rows: rows.length, examples: 0, truncated: 0, dropped: 0, supervisedTokens: 0, totalTokens: 0 };
  const examples: PreferenceExample[] = [];
  for (const row of rows) {
    if (row.kind !== 'preference') {
      fail(row.line, `DPO needs preference rows {"prompt", "chosen", "rejected"}; this row is ${row.kind}.`);
    }
    const chosenFull = tokenizePieces(tok, promptCompletionPieces(tok, row.prompt, row.chosen, row.line));
    const rejectedFull = tokenizePieces(tok, promptCompletionPieces(tok, row.prompt, row.rejected, row.line));
    checkIds(chosenFull, tok.vocabSize, row.line);
    checkIds(rejectedFull, tok.vocabSize, row.line);
    const c = truncate(chosenFull, options.seqLen);
    const r = truncate(rejectedFull, options.seqLen);
    const truncated = c.truncated || r.truncated;
    if (truncated) report.truncated++;
    const nc = supervisedCount(c.seq.labels);
    const nr = supervisedCount(r.seq.labels);
    if (nc === 0 || nr === 0) {
      if (!truncated) fail(row.line, `the ${nc === 0 ? 'chosen' : 'rejected'} answer is empty.`);
      report.dropped++;
      continue;
    }
    report.supervisedTokens += nc + nr;
    report.totalTokens += c.seq.inputIds.length + r.seq.inputIds.length;
    examples.push({ chosen: c.seq, rejected: r.seq, line: row.line, truncated });
  }
  report.examples = examples.length;
  return { examples, report };
}
