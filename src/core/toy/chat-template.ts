/**
 * The toy model's chat template (ChatML, no default system prompt: every token counts in a 256-token
 * context), as it goes into tokenizer_config.json, plus the same rendering in plain TypeScript for code
 * that must not depend on a Jinja engine. The tests check that both agree.
 */
import type { ChatMessage } from '../text/types.ts';

export const TOY_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export const TOY_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

export function renderToyChat(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let s = '';
  for (const m of messages) s += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (addGenerationPrompt) s += '<|im_start|>assistant\n';
  return s;
}
