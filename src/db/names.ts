/** Names people give experiments and adapters: trimmed, one line, 1–200 characters. */
import { AppError } from '../core/errors.ts';

export const NAME_MAX_CHARS = 200;

// C0/C1 control characters (tabs and newlines included): a name is one line of plain text.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Returns the cleaned name, or throws `bad-input` saying what to change. */
export function cleanName(raw: string, what = 'name'): string {
  const name = raw.trim();
  if (!name) throw new AppError('bad-input', `The ${what} is empty. Type a ${what} and try again.`);
  if (name.length > NAME_MAX_CHARS) {
    throw new AppError(
      'bad-input',
      `The ${what} is ${name.length} characters long; at most ${NAME_MAX_CHARS} are allowed. Shorten it and try again.`,
    );
  }
  if (CONTROL.test(name)) {
    throw new AppError('bad-input', `The ${what} contains a line break or another control character. Use one line of plain text.`);
  }
  return name;
}

/** "Name (copy)", shortened so it still fits. */
export function copyName(name: string): string {
  const suffix = ' (copy)';
  return name.slice(0, NAME_MAX_CHARS - suffix.length) + suffix;
}
