/**
 * TextTokenizer over a model's own files: `tokenizer.json` through @huggingface/tokenizers, the chat template
 * (from `tokenizer_config.json`, or a separate `chat_template.jinja`) through @huggingface/jinja.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { AppError } from '../errors.ts';
import { compileChatTemplate, type ChatTemplate } from './chat-template.ts';
import type { ChatMessage, TextTokenizer } from './types.ts';

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizerJson: unknown;
  /** Parsed tokenizer_config.json. */
  tokenizerConfig: unknown;
  /** Contents of chat_template.jinja, when the model keeps its template in its own file. */
  chatTemplateFile?: string | null;
  /** Extra end-of-sequence ids (config.json / generation_config.json `eos_token_id`). */
  extraEosTokenIds?: readonly number[];
}

type Json = Record<string, unknown>;

export function createTokenizer(files: TokenizerFiles): TextTokenizer {
  const { tokenizerJson, tokenizerConfig } = files;
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
    throw new AppError('tokenizer', 'tokenizer.json has no "model" section. Replace it with the model\'s original tokenizer.json.');
  }
  if (!isObject(tokenizerConfig)) {
    throw new AppError('tokenizer', 'tokenizer_config.json is not a JSON object. Replace it with the model\'s original file.');
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new AppError('tokenizer', `The tokenizer could not be built (${e instanceof Error ? e.message : String(e)}). This tokenizer type may not be supported.`);
  }

  const special: Record<string, string | null> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) special[key] = tokenText(tokenizerConfig[key]);
  const idOf = (text: string | null): number | null => (text === null ? null : (tok.token_to_id(text) ?? null));

  const eos = new Set<number>();
  const eosId = idOf(special.eos_token);
  if (eosId !== null) eos.add(eosId);
  for (const id of files.extraEosTokenIds ?? []) eos.add(id);

  const vocab = tok.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);

  const templateSource = pickTemplate(tokenizerConfig.chat_template) ?? files.chatTemplateFile ?? null;
  let template: ChatTemplate | null = null;

  return {
    vocabSize,
    eosTokenIds: [...eos],
    padTokenId: idOf(special.pad_token),
    encode(text: string): number[] {
      return tok.encode(text, { add_special_tokens: false }).ids;
    },
    decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
      if (ids.length === 0) return ''; // the library refuses an empty list
      return tok.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? false });
    },
    applyChatTemplate(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): string {
      if (templateSource === null) {
        throw new AppError('tokenizer', 'This model has no chat template (tokenizer_config.json has no chat_template). Use an instruct/chat model, or send raw text.');
      }
      template ??= compileChatTemplate(templateSource);
      return template.render(messages, {
        addGenerationPrompt: options?.addGenerationPrompt ?? false,
        bosToken: special.bos_token ?? '',
        eosToken: special.eos_token ?? '',
        padToken: special.pad_token ?? '',
        unkToken: special.unk_token ?? '',
      });
    },
  };
}

/** tokenizer_config writes special tokens as strings or as AddedToken objects `{ content: … }`. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

/** `chat_template` may be a string or a list of `{ name, template }` (use "default"). */
function pickTemplate(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.filter(isObject);
    const def = named.find((t) => t.name === 'default') ?? named[0];
    return def && typeof def.template === 'string' ? def.template : null;
  }
  return null;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
