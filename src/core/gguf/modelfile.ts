/**
 * An Ollama Modelfile for a GGUF model: `FROM ./model.gguf`, the chat template as Ollama's `TEMPLATE` (a Go
 * text/template over .Messages, the way Ollama's own chatml/llama3 templates are written) and `PARAMETER stop`
 * for the end-of-turn and end-of-text tokens.
 *
 * The Jinja chat template cannot be translated in general, so it is measured instead: rendered with marker
 * contents for a few conversations, it must reduce to a fixed prefix, an optional default system block (shown
 * when there is no system message), and per role an opening and a closing text around the content, plus the
 * generation prompt. Those pieces become the Go template; the same pieces are checked against the Jinja output
 * for other conversations before they are trusted. Templates that do not reduce so (tool calls, content
 * rewriting) get no TEMPLATE line: Ollama then picks a template itself from the GGUF's tokenizer.chat_template.
 */
import { compileChatTemplate, type TemplateTokens } from '../text/chat-template.ts';
import type { ChatMessage } from '../text/types.ts';

type Role = ChatMessage['role'];

/** What the chat template reduces to. */
export interface TemplateParts {
  prefix: string;
  /** Rendered before the first message when the conversation has no system message ('' if none). */
  defaultSystem: string;
  open: Record<Role, string>;
  close: Record<Role, string>;
  generationPrompt: string;
}

// Mixed case, so that a template that rewrites the content (upper, lower, title…) shows it.
const M = { sys: 'xSyStEmX', u1: 'xUsErOnEx', a1: 'xAsSiStAnTx', u2: 'xUsErTwOx' } as const;

function splitOnce(s: string, marker: string): [string, string] | null {
  const i = s.indexOf(marker);
  if (i < 0 || s.indexOf(marker, i + 1) >= 0) return null;
  return [s.slice(0, i), s.slice(i + marker.length)];
}

/** The template's pieces, or null when it does not reduce to them (see the file comment). */
export function chatTemplateParts(source: string, tokens: TemplateTokens): TemplateParts | null {
  let render: (messages: ChatMessage[], gen: boolean) => string;
  try {
    const t = compileChatTemplate(source);
    render = (messages, gen) => t.render(messages, { ...tokens, addGenerationPrompt: gen });
  } catch {
    return null;
  }
  try {
    const sys: ChatMessage = { role: 'system', content: M.sys };
    const u1: ChatMessage = { role: 'user', content: M.u1 };
    const a1: ChatMessage = { role: 'assistant', content: M.a1 };
    const u2: ChatMessage = { role: 'user', content: M.u2 };
    const a = render([sys, u1], false);
    const b = render([sys, u1, a1], false);
    const c = render([sys, u1, a1, u2], false);
    const g = render([sys, u1], true);
    const d = render([u1], false);
    if (!b.startsWith(a) || !c.startsWith(b) || !g.startsWith(a)) return null;
    const [uOpen, uClose] = splitOnce(c.slice(b.length), M.u2) ?? [];
    const [aOpen, aClose] = splitOnce(b.slice(a.length), M.a1) ?? [];
    const [beforeSys, afterSys] = splitOnce(a, M.sys) ?? [];
    if ([uOpen, uClose, aOpen, aClose, beforeSys, afterSys].some((x) => x === undefined)) return null;
    const [sysCloseUserOpen, userTail] = splitOnce(afterSys as string, M.u1) ?? [];
    if (userTail !== uClose || !(sysCloseUserOpen as string).endsWith(uOpen as string)) return null;
    const sysClose = (sysCloseUserOpen as string).slice(0, (sysCloseUserOpen as string).length - (uOpen as string).length);
    const sysOpen = (uOpen as string).includes('user') ? (uOpen as string).replace('user', 'system') : null;
    if (sysOpen === null || !(beforeSys as string).endsWith(sysOpen)) return null;
    const prefix = (beforeSys as string).slice(0, (beforeSys as string).length - sysOpen.length);
    const [beforeUser, dTail] = splitOnce(d, M.u1) ?? [];
    if (beforeUser === undefined || dTail !== uClose || !beforeUser.endsWith(uOpen as string) || !beforeUser.startsWith(prefix)) return null;
    const defaultSystem = beforeUser.slice(prefix.length, beforeUser.length - (uOpen as string).length);
    const parts: TemplateParts = {
      prefix,
      defaultSystem,
      open: { system: sysOpen, user: uOpen as string, assistant: aOpen as string },
      close: { system: sysClose, user: uClose as string, assistant: aClose as string },
      generationPrompt: g.slice(a.length),
    };
    // Trust the pieces only if they also reproduce conversations they were not read from.
    const checks: Array<[ChatMessage[], boolean]> = [
      [[u1], true],
      [[u1, a1, u2], true],
      [[sys, u1, a1, u2], true],
      [[u1, a1], false],
    ];
    for (const [messages, gen] of checks) if (renderParts(parts, messages, gen) !== render(messages, gen)) return null;
    return parts;
  } catch {
    return null;
  }
}

/** What the Go template built from `parts` renders for these messages (Ollama always asks for the reply). */
export function renderParts(parts: TemplateParts, messages: readonly ChatMessage[], generationPrompt = true): string {
  let out = parts.prefix + (messages.some((m) => m.role === 'system') ? '' : parts.defaultSystem);
  for (const m of messages) out += parts.open[m.role] + m.content + parts.close[m.role];
  return out + (generationPrompt ? parts.generationPrompt : '');
}

/** Go text/template literal text: as is, unless it holds template delimiters (then a quoted string action). */
function goText(s: string): string {
  return s.includes('{{') || s.includes('}}') ? `{{ ${JSON.stringify(s)} }}` : s;
}

/** Ollama's TEMPLATE for these pieces: one line of actions, so no trim marker can eat the template's own whitespace. */
export function ollamaTemplate(parts: TemplateParts): string {
  const role = (r: Role) => `${goText(parts.open[r])}{{ .Content }}${goText(parts.close[r])}`;
  return (
    goText(parts.prefix) +
    (parts.defaultSystem ? `{{ if not .System }}${goText(parts.defaultSystem)}{{ end }}` : '') +
    `{{ range .Messages }}{{ if eq .Role "system" }}${role('system')}{{ else if eq .Role "user" }}${role('user')}` +
    `{{ else if eq .Role "assistant" }}${role('assistant')}{{ end }}{{ end }}` +
    goText(parts.generationPrompt)
  );
}

export interface ModelfileInput {
  /** File name of the GGUF next to the Modelfile. */
  gguf: string;
  chatTemplate: string | null;
  tokens: TemplateTokens;
  /** The end-of-text tokens (config eos ids) as text. */
  eosTexts: readonly string[];
  /** Every control token's text: those in the assistant's closing text end a turn. */
  controlTexts: readonly string[];
}

export interface Modelfile {
  text: string;
  /** Whether the chat template became a TEMPLATE line. */
  template: boolean;
  stops: string[];
}

export function modelfile(input: ModelfileInput): Modelfile {
  const lines = [`FROM ./${input.gguf}`];
  const parts = input.chatTemplate ? chatTemplateParts(input.chatTemplate, input.tokens) : null;
  const template = parts ? ollamaTemplate(parts) : null;
  // Ollama reads """…""" verbatim; a template holding """ or ending in " cannot be quoted so.
  const quotable = template !== null && !template.includes('"""') && !template.endsWith('"');
  if (quotable) lines.push(`TEMPLATE """${template}"""`);
  const stops: string[] = [];
  const close = parts?.close.assistant ?? '';
  for (const s of [...input.controlTexts.filter((t) => close.includes(t)), ...input.eosTexts]) {
    if (s && !stops.includes(s) && !s.includes('"') && !/[\r\n]/.test(s)) stops.push(s);
  }
  for (const s of stops) lines.push(`PARAMETER stop "${s}"`);
  return { text: lines.join('\n') + '\n', template: quotable, stops };
}
