/**
 * README.md next to a GGUF model and its Modelfile: what the file is, how to run it in Ollama (FROM, which
 * current Ollama accepts) and llama.cpp, and what was and was not checked. Names are escaped so the README
 * renders them as text.
 */
import { escapeMarkdown } from '../text/markdown.ts';
import type { GgufDtype } from './model-gguf.ts';

export interface GgufReadmeInfo {
  name: string;
  architecture: string;
  dtype: GgufDtype;
  /** For a merged model: the base model and how the adapter was merged. */
  merged?: { baseModel: string; scaling: number; modules: number };
  /** tokenizer.ggml.pre written, and whether llama.cpp splits text exactly as the tokenizer does. */
  pre: string;
  preExact: boolean;
  /** Whether the Modelfile has a TEMPLATE line, and its stop strings. */
  template: boolean;
  stops: readonly string[];
}

const DTYPE_TEXT: Record<GgufDtype, string> = {
  F32: 'float32 (exact)',
  F16: 'float16 (norms in float32)',
  Q8_0: 'Q8_0: 8-bit blocks of 32 with a float16 scale (norms in float32)',
};

/** An Ollama model name from a free-form name: lowercase letters, digits, dots, dashes and underscores. */
export function ollamaModelName(name: string): string {
  const n = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '').slice(0, 60);
  return n || 'my-model';
}

export function ggufReadme(info: GgufReadmeInfo): string {
  const name = escapeMarkdown(info.name);
  const tag = ollamaModelName(info.name);
  const lines = [
    `# ${name} (GGUF)`,
    '',
    info.merged
      ? `The base model ${escapeMarkdown(info.merged.baseModel)} with a LoRA adapter merged into its weights (W + ${info.merged.scaling}·B·A on ${info.merged.modules} projections), written by Self-Refine Studio as one GGUF file. No adapter is needed to run it.`
      : `The model ${name} written by Self-Refine Studio as one GGUF file.`,
    '',
    '| | |',
    '| --- | --- |',
    `| Architecture | ${escapeMarkdown(info.architecture)} |`,
    `| Tensor type | ${DTYPE_TEXT[info.dtype]} |`,
    `| Tokenizer | byte-level BPE, llama.cpp pre-tokenizer \`${escapeMarkdown(info.pre)}\`${info.preExact ? '' : ' (the closest llama.cpp has: text may split into other tokens than in the original tokenizer)'} |`,
    '',
    '## Files',
    '',
    '- `model.gguf`: weights, hyper-parameters, tokenizer and chat template, as llama.cpp\'s converter lays them out.',
    `- \`Modelfile\`: for Ollama: \`FROM ./model.gguf\`${info.template ? ', the chat template as `TEMPLATE`' : ''}${info.stops.length ? ` and the stop tokens (${info.stops.map((s) => `\`${escapeMarkdown(s)}\``).join(', ')})` : ''}.`,
    '',
    '## Run it with Ollama',
    '',
    '```sh',
    `ollama create ${tag} -f Modelfile`,
    `ollama run ${tag}`,
    '```',
    '',
  ];
  if (!info.template) {
    lines.push("The chat template could not be expressed as an Ollama `TEMPLATE`; Ollama picks one from the GGUF's own chat template.", '');
  }
  lines.push(
    '## Run it with llama.cpp',
    '',
    '```sh',
    'llama-cli -m model.gguf -cnv',
    '```',
    '',
    '## What was checked',
    '',
    "Self-Refine Studio's tests load GGUF files written this way in llama.cpp (through node-llama-cpp 3.21.1) and",
    "compare its log-probabilities with the project's own runtime. Ollama itself was not run: the Modelfile follows",
    "Ollama's documented format and its own ChatML and Llama 3 templates.",
    '',
  );
  return lines.join('\n');
}
