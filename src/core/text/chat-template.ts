/** A model's Jinja chat template, compiled once and rendered with the variables transformers passes. */
import { Template } from '@huggingface/jinja';
import { AppError } from '../errors.ts';
import type { ChatMessage } from './types.ts';

export interface TemplateTokens {
  addGenerationPrompt: boolean;
  bosToken: string;
  eosToken: string;
  padToken: string;
  unkToken: string;
}

export interface ChatTemplate {
  render(messages: readonly ChatMessage[], t: TemplateTokens): string;
}

export function compileChatTemplate(source: string): ChatTemplate {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new AppError('tokenizer', `The model's chat template could not be parsed (${e instanceof Error ? e.message : String(e)}).`);
  }
  return {
    render(messages, t) {
      try {
        return template.render({
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: t.addGenerationPrompt,
          bos_token: t.bosToken,
          eos_token: t.eosToken,
          pad_token: t.padToken,
          unk_token: t.unkToken,
        });
      } catch (e) {
        throw new AppError('tokenizer', `The model's chat template refused these messages: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}
