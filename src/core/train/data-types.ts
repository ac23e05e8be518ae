/**
 * Training data, in the dataset formats of Hugging Face TRL, and what they become after tokenization.
 *
 *   text               {"text": "..."}                                   loss on every token (+ EOS)
 *   conversational     {"messages": [{role, content}, ...]}              loss on assistant turns only
 *   prompt-completion  {"prompt": "...", "completion": "..."}            loss on the completion only
 *                      (or both as message lists: prompt = user turns, completion = assistant turn(s))
 *   preference         {"prompt", "chosen", "rejected"}                  for DPO; strings or message lists;
 *                      {"chosen": [...], "rejected": [...]} with the prompt implicit (their shared prefix)
 *   tokenized          {"input_ids": [...], "labels": [...]}             passed through; -100 = no loss
 */
import type { ChatMessage } from '../text/types.ts';

/** A string (standard format) or a list of chat messages (conversational format). */
export type TextOrMessages = string | ChatMessage[];

export type TrainRow =
  | { kind: 'text'; line: number; text: string }
  | { kind: 'conversational'; line: number; messages: ChatMessage[] }
  | { kind: 'prompt-completion'; line: number; prompt: TextOrMessages; completion: TextOrMessages }
  | { kind: 'preference'; line: number; prompt: TextOrMessages; chosen: TextOrMessages; rejected: TextOrMessages }
  | { kind: 'tokenized'; line: number; inputIds: number[]; labels: number[] | null };

export type TrainRowKind = TrainRow['kind'];

/** Label value of a position that takes no loss (PyTorch's CrossEntropyLoss ignore_index). */
export const IGNORE_INDEX = -100;

/** One tokenized sequence. labels[t] = inputIds[t] where loss is taken, IGNORE_INDEX elsewhere. */
export interface TokenSequence {
  inputIds: Int32Array;
  labels: Int32Array;
}

export interface SftExample extends TokenSequence {
  /** 1-based line in the source file. */
  line: number;
  truncated: boolean;
}

/** A chosen/rejected pair that share their prompt. */
export interface PreferenceExample {
  chosen: TokenSequence;
  rejected: TokenSequence;
  line: number;
  truncated: boolean;
}

/** What tokenization did to the rows; shown to the user and written in the model card. */
export interface EncodeReport {
  rows: number;
  /** Examples (or pairs) kept. */
  examples: number;
  /** Examples cut to the sequence length (kept if some supervised tokens remained). */
  truncated: number;
  /** Examples left with no supervised token after truncation, and so skipped. */
  dropped: number;
  /** Positions that take loss (after the one-token shift), over all kept sequences. */
  supervisedTokens: number;
  /** Tokens over all kept sequences. */
  totalTokens: number;
}
