import { AppError } from '../errors.ts';

/**
 * A tiny, safe template renderer: `{name}` is replaced by the value of `name`; `{{` and `}}` write literal
 * braces; any other brace is kept as written (so JSON examples in a template survive). Values are inserted as
 * plain text in one pass (a value containing `{prompt}` is not expanded again). Nothing is evaluated.
 */
const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The placeholder names used in a template, in order of first use. */
export function placeholdersIn(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(TOKEN)) {
    if (m[1] !== undefined && !names.includes(m[1])) names.push(m[1]);
  }
  return names;
}

export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(TOKEN, (whole, name: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const v = Object.prototype.hasOwnProperty.call(values, name!) ? values[name!] : undefined;
    if (v === undefined) {
      throw new AppError(
        'bad-input',
        `The prompt template uses {${name}}, which is not available here. Available: ${Object.keys(values)
          .map((k) => `{${k}}`)
          .join(', ')}.`,
      );
    }
    return String(v);
  });
}
