/**
 * README.md for an exported adapter: YAML front matter as the Hugging Face hub reads it (base_model,
 * library_name: peft), what was trained and on how much, and how to load it in PEFT, llama.cpp and Ollama.
 * Names given by the user are escaped so that the card renders them as text, never as HTML.
 */
import { escapeMarkdown } from '../text/markdown.ts';
import { loraScaling, type LoraConfig } from './types.ts';

export { escapeMarkdown };

export interface ModelCardInfo {
  baseModel: string;
  lora: LoraConfig;
  method: 'sft' | 'dpo';
  /** Training rows (examples or preference pairs) used. */
  dataRows: number;
  /** Rows cut to the sequence length. */
  truncatedRows?: number;
  /** Supervised tokens seen (optional). */
  trainTokens?: number;
  steps: number;
  epochs?: number;
  finalLoss: number | null;
  learningRate?: number;
  optimizer?: string;
  seed?: number;
  /** Which files are in the export. */
  hasGguf: boolean;
  title?: string;
  /** ISO date; default today. */
  date?: string;
}

/**
 * A double-quoted string that is valid JSON, a YAML double-quoted scalar and a Python literal, with <, > and &
 * as \u escapes so that no viewer can mistake it for HTML.
 */
function quoted(s: string): string {
  return JSON.stringify(s).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}


export function modelCard(info: ModelCardInfo): string {
  const { lora } = info;
  const date = info.date ?? new Date().toISOString().slice(0, 10);
  const title = info.title ?? `LoRA adapter for ${info.baseModel}`;
  const layers = lora.layers ? lora.layers.join(', ') : 'all';
  const loss = info.finalLoss === null || !Number.isFinite(info.finalLoss) ? 'n/a' : info.finalLoss.toFixed(4);
  const rows: Array<[string, string]> = [
    ['Base model', escapeMarkdown(info.baseModel)],
    ['Method', info.method === 'dpo' ? 'DPO (preference pairs)' : 'Supervised fine-tuning'],
    ['Training rows', String(info.dataRows) + (info.truncatedRows ? ` (${info.truncatedRows} truncated)` : '')],
  ];
  if (info.trainTokens !== undefined) rows.push(['Supervised tokens', String(info.trainTokens)]);
  rows.push(['Optimizer steps', String(info.steps)]);
  if (info.epochs !== undefined) rows.push(['Epochs', String(info.epochs)]);
  rows.push(['Final loss', loss]);
  if (info.learningRate !== undefined) rows.push(['Learning rate', String(info.learningRate)]);
  if (info.optimizer !== undefined) rows.push(['Optimizer', escapeMarkdown(info.optimizer)]);
  if (info.seed !== undefined) rows.push(['Seed', String(info.seed)]);
  rows.push(
    ['LoRA rank r', String(lora.r)],
    ['lora_alpha', String(lora.alpha)],
    ['Scaling', `${loraScaling(lora)}${lora.rslora ? ' (rsLoRA: alpha / √r)' : ' (alpha / r)'}`],
    ['Dropout', String(lora.dropout)],
    ['Target modules', lora.targetModules.join(', ')],
    ['Layers', layers],
  );

  const lines = [
    '---',
    `base_model: ${quoted(info.baseModel)}`,
    'library_name: peft',
    'tags:',
    '- lora',
    '- peft',
    '- self-refine-studio',
    info.method === 'dpo' ? '- dpo' : '- sft',
    '---',
    '',
    `# ${escapeMarkdown(title)}`,
    '',
    `Trained on ${date} with Self-Refine Studio, on the model's own refined answers.`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## Files',
    '',
    '- `adapter_config.json`, `adapter_model.safetensors`: the adapter in PEFT format (float32).',
  ];
  if (info.hasGguf) lines.push('- `adapter.gguf`: the same adapter as a GGUF LoRA for llama.cpp and Ollama (float32).');
  lines.push(
    '',
    '## Use with PEFT',
    '',
    '```python',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    'from peft import PeftModel',
    '',
    `base = AutoModelForCausalLM.from_pretrained(${quoted(info.baseModel)})`,
    `tokenizer = AutoTokenizer.from_pretrained(${quoted(info.baseModel)})`,
    'model = PeftModel.from_pretrained(base, "path/to/this/folder")',
    '```',
  );
  if (info.hasGguf) {
    lines.push(
      '',
      '## Use with llama.cpp',
      '',
      'Convert the base model to GGUF (unquantized or Q8_0 works best with adapters), then:',
      '',
      '```sh',
      'llama-cli -m base-model.gguf --lora adapter.gguf',
      '```',
      '',
      '## Use with Ollama',
      '',
      'A `Modelfile` next to `adapter.gguf`:',
      '',
      '```',
      'FROM base-model.gguf',
      'ADAPTER ./adapter.gguf',
      '```',
      '',
      'then `ollama create my-refined-model -f Modelfile` and `ollama run my-refined-model`. `FROM` must name the',
      'same base model the adapter was trained on.',
    );
  }
  lines.push('');
  return lines.join('\n');
}
