/**
 * Server-sent events, parsed incrementally as the WHATWG spec describes: lines end in \n, \r\n or \r (which
 * may be split across network chunks), `:` starts a comment (keep-alives), `data:` lines accumulate and a
 * blank line dispatches the event. Only `event`, `data` and `id` are kept; `retry` is irrelevant here.
 */

export interface SseEvent {
  /** The `event:` field, '' when absent (the default "message"). */
  event: string;
  /** The `data:` lines joined by \n. */
  data: string;
  id: string | null;
}

export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | null = null;

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.#buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i === this.#buffer.length - 1) break; // may be the first half of \r\n: wait
      this.#line(this.#buffer.slice(start, i), out);
      if (c === '\r' && this.#buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.#buffer = this.#buffer.slice(start);
    return out;
  }

  /** The stream ended: a last event without its blank line is still delivered (servers do close early). */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.#buffer.replace(/\r$/, '');
    this.#buffer = '';
    if (rest) this.#line(rest, out);
    this.#dispatch(out);
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') return this.#dispatch(out);
    if (line.startsWith(':')) return; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id') this.#id = value;
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#data.length > 0) out.push({ event: this.#event, data: this.#data.join('\n'), id: this.#id });
    this.#data = [];
    this.#event = '';
  }
}

/** Reads SSE events from a response body. Stopping early (return/throw in the consumer) cancels the body. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent, void, void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
