import type { ChatMessage } from '../text/types.ts';

/**
 * Training rows in the dataset formats of Hugging Face TRL (conversational variants), as written to JSONL and
 * as handed to the trainer:
 *   SFT                {"messages": [...]}
 *   prompt-completion  {"prompt": [...user], "completion": [...assistant]}
 *   preference         {"prompt": [...user], "chosen": [...assistant], "rejected": [...assistant]}
 */
export interface SftMessagesRow {
  messages: ChatMessage[];
}

export interface PromptCompletionRow {
  prompt: ChatMessage[];
  completion: ChatMessage[];
}

export interface PreferenceRow {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

/** Rows for supervised fine-tuning. */
export type SftRow = SftMessagesRow | PromptCompletionRow;
export type TrlRow = SftRow | PreferenceRow;

/** Where a training row came from. */
export interface Provenance {
  loopId: string;
  taskId: string;
  evolutionRound: number;
  /** The steps the row was built from, as (kind, refineRound). */
  steps: { kind: string; refineRound: number }[];
}

function copyMessages(m: readonly ChatMessage[]): ChatMessage[] {
  return m.map(({ role, content }) => ({ role, content }));
}

/** A plain copy of the row with only TRL's fields, in TRL's key order. */
export function trlFields(row: TrlRow): TrlRow {
  if ('messages' in row) return { messages: copyMessages(row.messages) };
  if ('chosen' in row) return { prompt: copyMessages(row.prompt), chosen: copyMessages(row.chosen), rejected: copyMessages(row.rejected) };
  return { prompt: copyMessages(row.prompt), completion: copyMessages(row.completion) };
}

/**
 * JSONL text, one row per line, ending with a newline. With `provenance`, each line also carries a
 * `"provenance"` field (extra columns are kept by `datasets` and ignored by TRL's trainers).
 */
export function toTrlJsonl(rows: readonly { row: TrlRow; provenance?: Provenance }[], options: { provenance?: boolean } = {}): string {
  return rows
    .map(({ row, provenance }) =>
      JSON.stringify(options.provenance && provenance ? { ...trlFields(row), provenance } : trlFields(row)),
    )
    .map((line) => `${line}\n`)
    .join('');
}
