/** Markdown for model cards and READMEs. */

/** Escapes text for Markdown/HTML rendering: no tags, no emphasis or link syntax. */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]{}()#|!])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}
