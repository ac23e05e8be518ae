/**
 * Turns generated token ids into text as they arrive: emits only text that is final (no half UTF-8 character,
 * no possible beginning of a stop string) and stops at the first stop string, which is not returned.
 */
import type { TextTokenizer } from './types.ts';

export class TextStream {
  private ids: number[] = [];
  private emitted = 0;
  private finalText: string | null = null;
  private readonly longestStop: number;

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly stops: readonly string[] = [],
  ) {
    this.longestStop = stops.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /** Adds a token; returns the newly final text and whether a stop string was reached. */
  push(id: number): { delta: string; stopped: boolean } {
    if (this.finalText !== null) return { delta: '', stopped: true };
    this.ids.push(id);
    const full = this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    const from = Math.max(0, this.emitted - this.longestStop);
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = full.indexOf(s, from);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.finalText = full.slice(0, cut);
      return { delta: this.take(this.finalText, cut), stopped: true };
    }
    let safe = full.length;
    while (safe > this.emitted && full.charCodeAt(safe - 1) === 0xfffd) safe--; // an unfinished character
    safe = Math.min(safe, full.length - this.heldForStop(full));
    return { delta: this.take(full, safe), stopped: false };
  }

  /** Ends the stream: the rest of the text, now final. */
  finish(): string {
    if (this.finalText !== null) return this.take(this.finalText, this.finalText.length);
    this.finalText = this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    return this.take(this.finalText, this.finalText.length);
  }

  /** All text so far (final once finish() was called or a stop string was met). */
  get text(): string {
    return this.finalText ?? this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
  }

  private take(full: string, upTo: number): string {
    if (upTo <= this.emitted) return '';
    const delta = full.slice(this.emitted, upTo);
    this.emitted = upTo;
    return delta;
  }

  /** Length of the longest end of `full` that could grow into a stop string. */
  private heldForStop(full: string): number {
    let held = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, full.length); n > held; n--) {
        if (full.endsWith(s.slice(0, n))) {
          held = n;
          break;
        }
      }
    }
    return held;
  }
}
