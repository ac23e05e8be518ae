/** OpenAI-shaped chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A model's tokenizer together with its chat template, as declared by tokenizer.json + tokenizer_config.json. */
export interface TextTokenizer {
  readonly vocabSize: number;
  /** Token ids that end generation (tokenizer eos + generation_config eos ids). */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  /** Encodes text; special tokens written in the text (e.g. `<|im_start|>`) become their ids. No BOS is added. */
  encode(text: string): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** Renders the model's own chat template. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
}
