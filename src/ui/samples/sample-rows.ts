/**
 * Stored samples ↔ TRL rows. The samples table keeps three formats:
 *   'sft'   prompt messages → `chosen` (the final, refined answer)
 *   'dpo'   prompt messages, `chosen` (refined) ≻ `rejected` (first draft)
 *   'meta'  the meta-skill: prompt messages (task + an answer) → `chosen` = feedback then the refinement
 * and they are written as the TRL dataset formats:
 *   sft-messages       {"messages"}                 from 'sft'
 *   prompt-completion  {"prompt", "completion"}     from 'sft'
 *   preference         {"prompt", "chosen", "rejected"}   from 'dpo'
 *   meta               {"prompt", "completion"}     from 'meta'
 */
import { AppError } from '../../core/errors.ts';
import type { PreferenceRow, SftRow, TrlRow } from '../../core/train/trl.ts';
import { trlFields } from '../../core/train/trl.ts';
import type { ChatMessage } from '../../core/text/types.ts';
import type { Sample } from '../../db/types.ts';

export const EXPORT_FORMATS = ['sft-messages', 'prompt-completion', 'preference', 'meta'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_LABELS: Readonly<Record<ExportFormat, string>> = {
  'sft-messages': 'SFT, conversational ("messages")',
  'prompt-completion': 'SFT, prompt-completion',
  preference: 'Preference pairs (DPO: refined ≻ first draft)',
  meta: 'Meta-skill sequences (feedback then refinement)',
};

/** Which stored format each export format reads. */
export const SOURCE_FORMAT: Readonly<Record<ExportFormat, string>> = {
  'sft-messages': 'sft',
  'prompt-completion': 'sft',
  preference: 'dpo',
  meta: 'meta',
};

function assistant(text: string): ChatMessage[] {
  return [{ role: 'assistant', content: text }];
}

function copy(m: readonly ChatMessage[]): ChatMessage[] {
  return m.map(({ role, content }) => ({ role, content }));
}

/** One stored sample as a row of the export format; null when the sample is of another format. */
export function sampleToTrl(s: Sample, format: ExportFormat): TrlRow | null {
  if (s.format !== SOURCE_FORMAT[format]) return null;
  switch (format) {
    case 'sft-messages':
      return { messages: [...copy(s.prompt), ...assistant(s.chosen)] };
    case 'prompt-completion':
    case 'meta':
      return { prompt: copy(s.prompt), completion: assistant(s.chosen) };
    case 'preference':
      if (s.rejected === null) return null;
      return { prompt: copy(s.prompt), chosen: assistant(s.chosen), rejected: assistant(s.rejected) };
  }
}

/** JSONL of the included samples in an export format (TRL fields only, or with a "provenance" column). */
export function samplesJsonl(samples: readonly Sample[], format: ExportFormat, options: { provenance?: boolean } = {}): { text: string; rows: number } {
  let rows = 0;
  const lines: string[] = [];
  for (const s of samples) {
    if (!s.included) continue;
    const row = sampleToTrl(s, format);
    if (!row) continue;
    rows++;
    const fields = trlFields(row);
    const line = options.provenance
      ? { ...fields, provenance: { sampleId: s.id, runId: s.provenance.runId, round: s.provenance.round, stepIds: [...s.provenance.stepIds] } }
      : fields;
    lines.push(`${JSON.stringify(line)}\n`);
  }
  return { text: lines.join(''), rows };
}

/**
 * Training rows from included samples: SFT trains on 'sft' samples (prompt → refined answer) and 'meta'
 * samples (feedback then refinement); DPO on 'dpo' pairs.
 */
export function trainingRows(samples: readonly Sample[], method: 'sft'): SftRow[];
export function trainingRows(samples: readonly Sample[], method: 'dpo'): PreferenceRow[];
export function trainingRows(samples: readonly Sample[], method: 'sft' | 'dpo'): SftRow[] | PreferenceRow[];
export function trainingRows(samples: readonly Sample[], method: 'sft' | 'dpo'): SftRow[] | PreferenceRow[] {
  const included = samples.filter((s) => s.included);
  if (method === 'dpo') {
    return included.map((s) => sampleToTrl(s, 'preference')).filter((r): r is PreferenceRow => r !== null);
  }
  const out: SftRow[] = [];
  for (const s of included) {
    const row = s.format === 'sft' ? sampleToTrl(s, 'sft-messages') : s.format === 'meta' ? sampleToTrl(s, 'meta') : null;
    if (row) out.push(row as SftRow);
  }
  return out;
}

/** Included samples a method trains on, or a clear error when there are none. */
export function requireTrainingSamples(samples: readonly Sample[], method: 'sft' | 'dpo'): Sample[] {
  const usable = samples.filter((s) => s.included && (method === 'dpo' ? s.format === 'dpo' && s.rejected !== null : s.format === 'sft' || s.format === 'meta'));
  if (usable.length === 0) {
    throw new AppError(
      'bad-input',
      method === 'dpo'
        ? 'There are no included preference pairs to train DPO on. Collect samples with the "preference pairs" shape on the Samples tab (only improved loops give pairs).'
        : 'There are no included SFT or meta-skill samples to train on. Collect samples on the Samples tab first, or include some by hand.',
    );
  }
  return usable;
}
