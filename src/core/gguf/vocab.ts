/**
 * The tokenizer as llama.cpp reads it from GGUF, built from a Hugging Face folder's tokenizer.json,
 * tokenizer_config.json and config.json the way convert_hf_to_gguf.py's _set_vocab_gpt2 and gguf-py's
 * SpecialVocab do it (byte-level BPE only):
 *
 *   tokenizer.ggml.model = "gpt2", tokenizer.ggml.pre = a pre-tokenizer name llama.cpp knows
 *   tokenizer.ggml.tokens      [vocab_size] strings, byte-level encoded as in tokenizer.json; ids the tokenizer
 *                              lacks become "[PAD<id>]"
 *   tokenizer.ggml.token_type  [vocab_size] int32: 1 normal, 3 control (special added tokens, or ones that look
 *                              like "<|…|>"), 4 user-defined (other added tokens), 5 unused (the padding ids)
 *   tokenizer.ggml.merges      "left right" strings (a space inside a part written as U+0120, as gguf-py does)
 *   tokenizer.ggml.{bos,eos,unknown,seperator,padding,mask}_token_id   from tokenizer_config's *_token strings,
 *                              else config.json's *_token_id
 *   tokenizer.ggml.add_bos_token / add_eos_token, tokenizer.chat_template
 *
 * llama.cpp picks its pre-tokenizer regex by `tokenizer.ggml.pre`. The converter identifies it by hashing how
 * the tokenizer splits a test string; we read the pre_tokenizer section instead and name the llama.cpp type that
 * splits the same way. When none does (the toy model's tokenizer keeps "hundreds:Ġ" as one piece, which no
 * llama.cpp regex allows), the closest is written and `preExact` is false: token ids given to llama.cpp are
 * unaffected, but text it tokenizes itself may split differently from ours.
 */
import { AppError } from '../errors.ts';
import type { GGUFValue } from '../io/gguf-write.ts';

type Json = Record<string, unknown>;

export const TokenType = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

export interface GgufVocab {
  metadata: Array<[string, GGUFValue]>;
  /** The tokenizer.ggml.pre written, and whether llama.cpp splits text exactly as tokenizer.json does. */
  pre: string;
  preExact: boolean;
  /** Token strings by id (as written), and the texts of the control tokens. */
  tokens: string[];
  controlTokens: string[];
  /** The chat template (tokenizer.chat_template), if the folder has one. */
  chatTemplate: string | null;
  /** Special token ids found (bos, eos, …). */
  special: Partial<Record<SpecialKind, number>>;
}

type SpecialKind = 'bos' | 'eos' | 'unk' | 'sep' | 'pad' | 'mask';
const SPECIAL_KEYS: Record<SpecialKind, string> = {
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id', // sic: gguf-py's spelling
  pad: 'tokenizer.ggml.padding_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
};

/** Split regexes of tokenizer.json files that llama.cpp implements under these names. */
const QWEN2_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const LLAMA3_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

export interface VocabInput {
  tokenizer: unknown;
  tokenizerConfig: unknown;
  config: unknown;
  /** Rows of the embedding (config vocab_size); may exceed the tokenizer's ids. */
  vocabSize: number;
  /** chat_template.jinja, when the folder has it and tokenizer_config has no chat_template. */
  chatTemplateFile?: string | null;
}

export function ggufVocab(input: VocabInput): GgufVocab {
  const tok = obj(input.tokenizer, 'tokenizer.json');
  const model = obj(tok.model, 'tokenizer.json "model"');
  if (model.type !== 'BPE' || model.byte_fallback === true || !isByteLevel(tok)) {
    throw new AppError(
      'unsupported',
      `unsupported: a ${String(model.type)} tokenizer${model.byte_fallback === true ? ' with byte fallback (SentencePiece style)' : ''}. The GGUF writer handles byte-level BPE tokenizers (SmolLM2, Llama 3, Qwen2.5, Qwen3).`,
    );
  }
  const vocab = obj(model.vocab, 'tokenizer.json "model.vocab"');
  const cfg = isObject(input.tokenizerConfig) ? input.tokenizerConfig : {};
  const added = (Array.isArray(tok.added_tokens) ? tok.added_tokens : []).filter(isObject);

  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(vocab)) if (Number.isInteger(id)) byId.set(id as number, text);
  const addedById = new Map<number, Json>();
  for (const a of added) {
    if (!Number.isInteger(a.id) || typeof a.content !== 'string') continue;
    addedById.set(a.id as number, a);
    byId.set(a.id as number, a.content);
  }
  const maxId = Math.max(-1, ...byId.keys());
  if (maxId >= input.vocabSize) {
    throw new AppError('model-config', `The tokenizer has token id ${maxId}, but config.json's vocab_size is ${input.vocabSize}; they do not belong together.`);
  }

  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < input.vocabSize; i++) {
    const text = byId.get(i);
    const a = addedById.get(i);
    if (text === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(TokenType.UNUSED);
    } else if (a) {
      const control = a.special === true || /^<\|.*\|>$/s.test(text) || /^<｜.*｜>$/s.test(text);
      tokens.push(control ? text : text.replace(/\u2581/g, ' '));
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
    } else {
      tokens.push(text);
      types.push(TokenType.NORMAL);
    }
  }

  const merges = (Array.isArray(model.merges) ? model.merges : []).map((m: unknown) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && m.every((p) => typeof p === 'string')) return m.map((p: string) => p.replace(/ /g, '\u0120')).join(' ');
    throw new AppError('tokenizer', 'tokenizer.json has a merge that is neither "a b" nor ["a", "b"]; the tokenizer is damaged.');
  });

  const special: Partial<Record<SpecialKind, number>> = {};
  const contentId = (v: unknown): number | undefined => {
    const content = typeof v === 'string' ? v : isObject(v) && typeof v.content === 'string' ? v.content : undefined;
    return content === undefined ? undefined : added.find((a) => a.content === content)?.id as number | undefined;
  };
  const config = isObject(input.config) ? input.config : {};
  for (const kind of Object.keys(SPECIAL_KEYS) as SpecialKind[]) {
    const fromTokenizer = contentId(cfg[`${kind}_token`]);
    const fromConfig = config[`${kind}_token_id`];
    const id = fromTokenizer ?? (Number.isInteger(fromConfig) ? (fromConfig as number) : undefined);
    if (id !== undefined && id >= 0 && id < input.vocabSize) special[kind] = id;
  }

  const { pre, exact } = preTokenizerName(tok.pre_tokenizer);
  const chatTemplate = chatTemplateOf(cfg, input.chatTemplateFile ?? null);
  const metadata: Array<[string, GGUFValue]> = [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: pre }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'int32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
  ];
  for (const kind of Object.keys(SPECIAL_KEYS) as SpecialKind[]) {
    const id = special[kind];
    if (id !== undefined) metadata.push([SPECIAL_KEYS[kind], { type: 'uint32', value: id }]);
  }
  const addBos = addsBos(cfg, tok, special.bos);
  metadata.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: addBos && special.bos !== undefined }]);
  metadata.push(['tokenizer.ggml.add_eos_token', { type: 'bool', value: cfg.add_eos_token === true && special.eos !== undefined }]);
  if (chatTemplate !== null) metadata.push(['tokenizer.chat_template', { type: 'string', value: chatTemplate }]);
  const controlTokens = tokens.filter((_, i) => types[i] === TokenType.CONTROL);
  return { metadata, pre, preExact: exact, tokens, controlTokens, chatTemplate, special };
}

/** The llama.cpp pre-tokenizer type that splits text as this tokenizer.json pre_tokenizer does. */
export function preTokenizerName(pre: unknown): { pre: string; exact: boolean } {
  const steps = isObject(pre) && pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers.filter(isObject) : isObject(pre) ? [pre] : [];
  const [first, second] = steps;
  const byteLevel = (s: Json | undefined, regex: boolean) => s?.type === 'ByteLevel' && (s.use_regex !== false) === regex && s.add_prefix_space !== true;
  const split = (s: Json | undefined) => (s?.type === 'Split' && isObject(s.pattern) && typeof s.pattern.Regex === 'string' && s.behavior === 'Isolated' && s.invert !== true ? s.pattern.Regex : null);
  if (steps.length === 1 && byteLevel(first, true)) return { pre: 'gpt-2', exact: true };
  if (steps.length === 2 && first?.type === 'Digits' && first.individual_digits === true && byteLevel(second, true)) return { pre: 'smollm', exact: true };
  if (steps.length === 2 && byteLevel(second, false)) {
    const re = split(first);
    if (re === QWEN2_REGEX) return { pre: 'qwen2', exact: true };
    if (re === LLAMA3_REGEX) return { pre: 'llama-bpe', exact: true };
  }
  // No exact match. Digits one by one matter most for what these small models do (arithmetic): keep them.
  const text = JSON.stringify(pre ?? null);
  const digitsAlone = /"individual_digits":true/.test(text) || /"Regex":"(\[0-9\]|\\\\p\{N\}|\\\\d)(\||")/.test(text);
  return { pre: digitsAlone ? 'smollm' : 'default', exact: false };
}

function isByteLevel(tok: Json): boolean {
  return JSON.stringify(tok.pre_tokenizer ?? null).includes('"ByteLevel"') || (isObject(tok.decoder) && tok.decoder.type === 'ByteLevel');
}

/** add_bos_token as transformers applies it: tokenizer_config's flag, else a TemplateProcessing that starts with BOS. */
function addsBos(cfg: Json, tok: Json, bos: number | undefined): boolean {
  if (typeof cfg.add_bos_token === 'boolean') return cfg.add_bos_token;
  const post = tok.post_processor;
  const processors = isObject(post) && Array.isArray(post.processors) ? post.processors.filter(isObject) : isObject(post) ? [post] : [];
  for (const p of processors) {
    if (p.type !== 'TemplateProcessing' || !Array.isArray(p.single)) continue;
    const head = p.single[0];
    const id = isObject(head) && isObject(head.SpecialToken) ? head.SpecialToken.id : undefined;
    const ids = isObject(p.special_tokens) && typeof id === 'string' && isObject(p.special_tokens[id]) ? p.special_tokens[id].ids : undefined;
    if (Array.isArray(ids) && ids[0] === bos) return true;
  }
  return false;
}

function chatTemplateOf(cfg: Json, file: string | null): string | null {
  const t = cfg.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.filter(isObject).find((e) => e.name === 'default') ?? t.filter(isObject)[0];
    if (named && typeof named.template === 'string') return named.template;
  }
  return file;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Json {
  if (!isObject(v)) throw new AppError('tokenizer', `${what} is missing or not a JSON object; the tokenizer files are damaged.`);
  return v;
}
