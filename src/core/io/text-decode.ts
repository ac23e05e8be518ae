/**
 * Text files the user imports (task files, training data, chat messages, bundle entries): UTF-8 only, decoded
 * strictly (`TextDecoder('utf-8', { fatal: true })`), so bytes that are not UTF-8 are refused with the line they
 * are on instead of turning into replacement characters. A leading BOM is dropped. Lines end with `\r\n`, `\n`
 * or a lone `\r` (old Mac files), and the line numbers in messages count all three the same way.
 */
import { AppError } from '../errors.ts';

export class TextEncodingError extends AppError {
  /** 1-based line holding the first bad byte. */
  readonly line: number;
  /** 0-based offset of the first bad byte in the file. */
  readonly offset: number;
  constructor(what: string, line: number, offset: number) {
    super('bad-encoding', `${what} is not UTF-8 text: line ${line} holds bytes that are not UTF-8 (the first at byte ${offset}). Save the file as UTF-8 and try again.`);
    this.name = 'TextEncodingError';
    this.line = line;
    this.offset = offset;
  }
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** The file's text (without a BOM); `what` names the file in the error, e.g. "tasks.csv". */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    throw new TextEncodingError(what, lineAt(bytes, offset), offset);
  }
}

/** Splits text into lines at `\r\n`, `\n` and `\r`. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/** 1-based line of byte `offset`, counting `\r\n`, `\n` and a lone `\r` as one line break each. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a || (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a)) line++;
  }
  return line;
}

/**
 * Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (no overlong forms,
 * no surrogates, nothing above U+10FFFF), or the length when the text is valid.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // Lead byte → sequence length and the allowed range of the second byte (Unicode Table 3-7).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < n; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += n;
  }
  return b.length;
}
