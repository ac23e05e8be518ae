/**
 * A forgiving reader for the JSON that small models write: single or double quotes, unquoted keys, trailing or
 * missing commas, // and /* *\/ comments, Python's True/False/None, unescaped quotes inside strings, and
 * output cut off mid-object (whatever was read so far is returned, with `complete: false`).
 * It only reads data; nothing is evaluated.
 */
export interface LenientParse {
  value: unknown;
  /** False when the text ended before the value was closed. */
  complete: boolean;
  /** Index just after the value. */
  end: number;
}

class Reader {
  i = 0;
  truncated = false;
  constructor(readonly s: string) {}

  skip(): void {
    for (;;) {
      while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
      if (this.s.startsWith('//', this.i)) {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else if (this.s.startsWith('/*', this.i)) {
        const close = this.s.indexOf('*/', this.i + 2);
        this.i = close < 0 ? this.s.length : close + 2;
      } else return;
    }
  }

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  value(depth: number): unknown {
    this.skip();
    if (this.atEnd()) {
      this.truncated = true;
      return undefined;
    }
    const c = this.s[this.i];
    if (depth > 64) throw new SyntaxError('nested too deeply');
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"' || c === "'" || c === '“') return this.string();
    return this.bare();
  }

  object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++; // {
    for (;;) {
      this.skip();
      if (this.atEnd()) {
        this.truncated = true;
        return out;
      }
      const c = this.s[this.i];
      if (c === '}') {
        this.i++;
        return out;
      }
      if (c === ',') {
        this.i++;
        continue;
      }
      const key = c === '"' || c === "'" || c === '“' ? this.string() : this.identifier();
      if (key === '') throw new SyntaxError(`unexpected ${JSON.stringify(c)} in an object`);
      this.skip();
      if (this.s[this.i] === ':' || this.s[this.i] === '=') this.i++;
      else if (this.atEnd()) {
        this.truncated = true;
        return out;
      } else throw new SyntaxError('expected ":" after a key');
      const v = this.value(depth + 1);
      if (v !== undefined) out[key] = v;
      if (this.truncated) return out;
    }
  }

  array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.i++; // [
    for (;;) {
      this.skip();
      if (this.atEnd()) {
        this.truncated = true;
        return out;
      }
      const c = this.s[this.i];
      if (c === ']') {
        this.i++;
        return out;
      }
      if (c === ',') {
        this.i++;
        continue;
      }
      const v = this.value(depth + 1);
      if (v !== undefined) out.push(v);
      if (this.truncated) return out;
    }
  }

  identifier(): string {
    const m = /^[A-Za-z_$][\w$ -]*?(?=\s*[:=])/.exec(this.s.slice(this.i, this.i + 80));
    if (!m) return '';
    this.i += m[0].length;
    return m[0].trim();
  }

  /** Whether a quote at `j` ends the string: what follows is a separator, a closer, or the end. */
  closes(j: number): boolean {
    let k = j + 1;
    while (k < this.s.length && (this.s[k] === ' ' || this.s[k] === '\t')) k++;
    if (k >= this.s.length) return true;
    return /[,}\]:\n\r]/.test(this.s[k]);
  }

  string(): string {
    const open = this.s[this.i];
    const closeChars = open === '“' ? ['”', '"'] : [open];
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '\\' && this.i + 1 < this.s.length) {
        const e = this.s[this.i + 1];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) {
          out += String.fromCharCode(parseInt(this.s.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
        } else {
          out += map[e] ?? e;
          this.i += 2;
        }
        continue;
      }
      if (closeChars.includes(c) && this.closes(this.i)) {
        this.i++;
        return out;
      }
      out += c;
      this.i++;
    }
    this.truncated = true;
    return out;
  }

  /** Numbers, true/false/null (and Python's), or an unquoted run of text up to a separator. */
  bare(): unknown {
    const m = /^[^,}\]\n\r]*/.exec(this.s.slice(this.i));
    const raw = (m ? m[0] : '').trim();
    if (raw === '') throw new SyntaxError(`unexpected ${JSON.stringify(this.s[this.i])}`);
    this.i += m ? m[0].length : 0;
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
    const lower = raw.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null' || lower === 'none') return null;
    return raw;
  }
}

/** Reads one value starting at `start` (default: the first non-space character). Throws SyntaxError when hopeless. */
export function parseLenientJson(text: string, start = 0): LenientParse {
  const r = new Reader(text);
  r.i = start;
  const value = r.value(0);
  return { value, complete: !r.truncated, end: r.i };
}

/**
 * Finds JSON objects in free text: inside ``` fences first, then at each "{" in order. Returns each object
 * that could be read (at most `limit`), outermost first.
 */
export function findJsonObjects(text: string, limit = 8): LenientParse[] {
  const found: LenientParse[] = [];
  const tryAt = (src: string, at: number) => {
    try {
      const p = parseLenientJson(src, at);
      if (typeof p.value === 'object' && p.value !== null && !Array.isArray(p.value)) found.push(p);
      return p.end;
    } catch {
      return at + 1;
    }
  };
  for (const m of text.matchAll(/```[\w-]*\s*\n?([\s\S]*?)(?:```|$)/g)) {
    const body = m[1];
    const at = body.indexOf('{');
    if (at >= 0) tryAt(body, at);
    if (found.length >= limit) return found;
  }
  if (found.length > 0) return found;
  let i = text.indexOf('{');
  while (i >= 0 && found.length < limit) {
    const end = tryAt(text, i);
    i = text.indexOf('{', Math.max(end, i + 1));
  }
  return found;
}
