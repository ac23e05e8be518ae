/**
 * What a GGUF model export hands out: model.gguf (finished from a ModelGgufWriter that has every tensor), a
 * Modelfile for Ollama (FROM ./model.gguf, TEMPLATE, stop tokens) and a README.
 */
import type { ModelConfig } from '../model/types.ts';
import type { GgufDtype, ModelGgufWriter } from './model-gguf.ts';
import { modelfile } from './modelfile.ts';
import { ggufReadme } from './readme.ts';

/** What a GGUF export says about itself (for the CLI's message and the UI). */
export interface GgufExportInfo {
  /** tokenizer.ggml.pre, and whether llama.cpp splits text exactly as the tokenizer does. */
  pre: string;
  preExact: boolean;
  /** Whether the Modelfile has a TEMPLATE line, and its stop strings. */
  template: boolean;
  stops: string[];
}

export interface GgufFolderOptions {
  config: ModelConfig;
  name: string;
  dtype: GgufDtype;
  /** For a merged model: its base and the merge. */
  merged?: { baseModel: string; scaling: number; modules: number };
}

export function ggufFolderFiles(w: ModelGgufWriter, o: GgufFolderOptions): { files: Map<string, Uint8Array>; info: GgufExportInfo } {
  const v = w.vocab;
  const text = (id: number | undefined) => (id === undefined ? '' : (v.tokens[id] ?? ''));
  const mf = modelfile({
    gguf: 'model.gguf',
    chatTemplate: v.chatTemplate,
    tokens: { addGenerationPrompt: true, bosToken: text(v.special.bos), eosToken: text(v.special.eos), padToken: text(v.special.pad), unkToken: text(v.special.unk) },
    eosTexts: o.config.eosTokenIds.map(text).filter((t) => v.controlTokens.includes(t)),
    controlTexts: v.controlTokens,
  });
  const info: GgufExportInfo = { pre: v.pre, preExact: v.preExact, template: mf.template, stops: mf.stops };
  const readme = ggufReadme({ name: o.name, architecture: o.config.architecture, dtype: o.dtype, merged: o.merged, ...info });
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>([
    ['model.gguf', w.finish()],
    ['Modelfile', enc.encode(mf.text)],
    ['README.md', enc.encode(readme)],
  ]);
  return { files, info };
}
