/**
 * Builds the toy model's tokenizer files (Hugging Face layout) from the toy formats, deterministically:
 *
 * - tokenizer.json: byte-level BPE. The vocabulary is the 3 special tokens, the 256 byte symbols and merges
 *   learned from the toy conversations. The pre-tokenizer isolates every digit and every newline, so a
 *   number is always one token per digit and a line break is always its own token; everything between
 *   (" + ", ", so ", "; draft ", "Verdict: wrong", "assistant", ...) may merge into one token, which keeps
 *   sequences short. Any text at all still encodes and decodes exactly (every byte has a token).
 * - tokenizer_config.json: eos/pad tokens and the ChatML chat template.
 * - generation_config.json: the ids that end generation.
 *
 * Pure functions (no file system): tests/scripts/toy-data.ts writes the files, and a unit test rebuilds them and
 * compares with the committed ones.
 */
import { renderToyChat, TOY_CHAT_TEMPLATE, TOY_SPECIAL_TOKENS } from './chat-template.ts';
import { generateToyData, toyTrainingChats } from './generate.ts';
import { toyPrompts } from './prompts.ts';

/** GPT-2's reversible byte → printable character table: index = byte value. */
export function byteSymbols(): string[] {
  const symbols: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    symbols[b] = printable ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return symbols;
}

/** The pre-tokenizer split: digits and newlines isolated, the rest kept in runs. Mirrors tokenizer.json. */
export const TOY_SPLIT_PATTERN = '[0-9]|\n';

/** Splits text the way the tokenizer does before BPE (special tokens are taken out first). */
export function pretokenize(text: string): string[] {
  const specials = new RegExp(TOY_SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, '\\|')).join('|'), 'g');
  const pieces: string[] = [];
  for (const chunk of text.split(specials)) {
    let rest = '';
    for (const ch of chunk) {
      if (/[0-9\n]/.test(ch)) {
        if (rest !== '') pieces.push(rest);
        pieces.push(ch);
        rest = '';
      } else {
        rest += ch;
      }
    }
    if (rest !== '') pieces.push(rest);
  }
  return pieces;
}

function toByteLevel(piece: string, symbols: readonly string[]): string[] {
  return Array.from(new TextEncoder().encode(piece), (b) => symbols[b]);
}

/**
 * Learns BPE merges: repeatedly joins the most frequent adjacent pair (ties broken by the pair's text, so
 * the result is deterministic) until no pair occurs `minCount` times or `maxMerges` merges are made.
 */
export function learnMerges(texts: readonly string[], maxMerges: number, minCount: number): [string, string][] {
  const symbols = byteSymbols();
  const wordCounts = new Map<string, number>();
  for (const t of texts) {
    for (const p of pretokenize(t)) wordCounts.set(p, (wordCounts.get(p) ?? 0) + 1);
  }
  const words: { parts: string[]; n: number }[] = [];
  for (const [w, n] of wordCounts) {
    const parts = toByteLevel(w, symbols);
    if (parts.length > 1) words.push({ parts, n });
  }
  const merges: [string, string][] = [];
  const merged = new Set<string>();
  while (merges.length < maxMerges) {
    const pairCounts = new Map<string, number>();
    for (const { parts, n } of words) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const key = `${parts[i]} ${parts[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + n);
      }
    }
    let best: string | null = null;
    let bestN = 0;
    for (const [key, n] of pairCounts) {
      if (n > bestN || (n === bestN && best !== null && key < best)) {
        best = key;
        bestN = n;
      }
    }
    if (best === null || bestN < minCount) break;
    const [left, right] = best.split(' ') as [string, string];
    // A pair can reappear once later merges build one of its sides; it keeps its first rank.
    if (!merged.has(best)) merges.push([left, right]);
    merged.add(best);
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.parts.length; i++) {
        if (i + 1 < w.parts.length && w.parts[i] === left && w.parts[i + 1] === right) {
          next.push(left + right);
          i++;
        } else {
          next.push(w.parts[i]);
        }
      }
      w.parts = next;
    }
  }
  return merges;
}

/**
 * The texts the merges are learned from: rendered training chats and draft prompts, from a fixed seed. The
 * feedback chats review the drafter's own drafts here (`ownShare: 1`, the first corpus), so the vocabulary
 * stays the same whatever drafts the training corpus reviews: the words of the format are all it learns.
 */
export function tokenizerTrainingTexts(): string[] {
  const data = generateToyData({ seed: 0, metaCount: 2000, rounds: 0, evalCount: 0, review: { ownShare: 1 } });
  const texts = toyTrainingChats(data.meta).map((chat) => renderToyChat(chat, false));
  for (const ex of data.meta) texts.push(renderToyChat(toyPrompts.draft(ex.question.text), true));
  return texts;
}

export const TOY_MERGE_LIMIT = 400;
export const TOY_MERGE_MIN_COUNT = 20;
export const TOY_MODEL_MAX_LENGTH = 384;

export interface ToyTokenizerFiles {
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
}

/** The three tokenizer files as JSON values. Ids: specials 0–2, bytes 3–258, merges from 259 on. */
export function buildToyTokenizerFiles(): ToyTokenizerFiles {
  const merges = learnMerges(tokenizerTrainingTexts(), TOY_MERGE_LIMIT, TOY_MERGE_MIN_COUNT);
  const vocab: Record<string, number> = {};
  TOY_SPECIAL_TOKENS.forEach((t, i) => (vocab[t] = i));
  byteSymbols().forEach((s, b) => (vocab[s] = TOY_SPECIAL_TOKENS.length + b));
  for (const [l, r] of merges) {
    const tok = l + r;
    if (vocab[tok] === undefined) vocab[tok] = Object.keys(vocab).length;
  }
  const addedTokens = TOY_SPECIAL_TOKENS.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: TOY_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([l, r]) => `${l} ${r}`),
    },
  };
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const t of addedTokens) {
    const { id, ...rest } = t;
    addedTokensDecoder[String(id)] = rest;
  }
  const tokenizerConfig = {
    added_tokens_decoder: addedTokensDecoder,
    bos_token: null,
    chat_template: TOY_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: TOY_MODEL_MAX_LENGTH,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
  const generationConfig = {
    bos_token_id: null,
    eos_token_id: [2, 0],
    pad_token_id: 0,
    do_sample: false,
  };
  return { tokenizer, tokenizerConfig, generationConfig };
}

/** How the files are written (2-space JSON, final newline), so a test can compare bytes. */
export function toyJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
