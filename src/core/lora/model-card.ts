/**
 * README.md for an exported adapter: YAML front matter as the Hugging Face hub reads it (base_model,
 * library_name: peft), what was trained and on how much, and how to load it in PEFT, llama.cpp and Ollama (which now
 * needs the merged model: FROM ./model.gguf; ADAPTER only for older Ollama).
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
  lines.push(
    '',
    '## Use with Ollama',
    '',
    'Current Ollama (v0.34.1 and later) no longer takes a LoRA adapter in a Modelfile: give it the model with this',
    "adapter merged in. In Self-Refine Studio, the Adapters tab's **Download merged model** (GGUF) writes `model.gguf`,",
    'a `Modelfile` and a README; from the command line:',
    '',
    '```sh',
    'npm run -s lm -- merge --model BASE_DIR --adapter path/to/this/folder --out merged --format gguf',
    'cd merged && ollama create my-refined-model -f Modelfile && ollama run my-refined-model',
    '```',
    '',
    'The `Modelfile` starts with `FROM ./model.gguf` and holds the chat template as `TEMPLATE` and the stop tokens.',
  );
  if (info.hasGguf) {
    lines.push(
      '',
      '## Older Ollama and llama.cpp `--lora`',
      '',
      '`adapter.gguf` applies to the base model converted to GGUF (unquantized or Q8_0 works best with adapters;',
      '`npm run -s lm -- export-gguf --model BASE_DIR --out base-model.gguf` writes one):',
      '',
      '```sh',
      'llama-cli -m base-model.gguf --lora adapter.gguf',
      '```',
      '',
      'Ollama before v0.34.1 also took it in a Modelfile (`FROM` must name the base model the adapter was trained on):',
      '',
      '```',
      'FROM ./base-model.gguf',
      'ADAPTER ./adapter.gguf',
      '```',
    );
  }
  lines.push(
    '',
    '## What was checked',
    '',
    "Self-Refine Studio's tests run its GGUF files (merged models, and base model + `adapter.gguf`) in llama.cpp",
    'through node-llama-cpp 3.21.1 and compare the log-probabilities with its own runtime. Ollama itself was not run.',
  );
  lines.push('');
  return lines.join('\n');
}
