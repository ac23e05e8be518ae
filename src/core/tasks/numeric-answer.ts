/**
 * Finding the final number in a model's answer to a math word problem, and comparing it with the expected one.
 * Accepts the usual ways of writing it: "#### 42", "\boxed{42}", "The answer is 42", "$1,234.50", "42 apples",
 * "3/4", "2 1/2", "-7", "12.5%".
 */

export interface ExtractedNumber {
  value: number;
  /** The text it was read from. */
  raw: string;
  /** Digits after the decimal point as written (0 for integers and fractions). */
  decimals: number;
}

// A mixed number, a fraction, or a decimal (with optional thousands separators), optionally signed and
// preceded by a currency symbol. The sign must touch the number so "5 - 3" is not read as "-3".
const NUMBER_SOURCE =
  String.raw`(?:(?<![\w.])[-−])?(?:[$€£]\s?)?(?:` +
  String.raw`\d+\s+\d+\s*\/\s*\d+` + // 2 1/2
  String.raw`|\d+\s*\/\s*\d+` + // 3/4
  String.raw`|\d{1,3}(?:,\d{3})+(?:\.\d+)?` + // 1,234.5
  String.raw`|\d+(?:\.\d+)?` + // 42, 3.14
  String.raw`|\.\d+` + // .5
  String.raw`)`;

function numberRegex(): RegExp {
  return new RegExp(NUMBER_SOURCE, 'g');
}

/** Parses one number as written ("$1,234.50", "-3/4", "2 1/2"); null when it is not one. */
export function parseNumberText(raw: string): ExtractedNumber | null {
  let s = raw.trim().replace(/−/g, '-');
  let sign = 1;
  if (s.startsWith('-')) {
    sign = -1;
    s = s.slice(1).trim();
  }
  s = s.replace(/^[$€£]\s*/, '');
  if (s.startsWith('-')) {
    sign = -sign;
    s = s.slice(1).trim();
  }
  const mixed = /^(\d+)\s+(\d+)\s*\/\s*(\d+)$/.exec(s);
  if (mixed) {
    const den = Number(mixed[3]);
    if (den === 0) return null;
    return { value: sign * (Number(mixed[1]) + Number(mixed[2]) / den), raw, decimals: 0 };
  }
  const frac = /^(\d+)\s*\/\s*(\d+)$/.exec(s);
  if (frac) {
    const den = Number(frac[2]);
    if (den === 0) return null;
    return { value: (sign * Number(frac[1])) / den, raw, decimals: 0 };
  }
  if (!/^(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$/.test(s) || s === '' || s === '.') return null;
  const plain = s.replace(/,/g, '');
  const value = Number(plain);
  if (!Number.isFinite(value)) return null;
  const dot = plain.indexOf('.');
  return { value: sign * value, raw, decimals: dot < 0 ? 0 : plain.length - dot - 1 };
}

function lastNumberIn(text: string): ExtractedNumber | null {
  let last: ExtractedNumber | null = null;
  for (const m of text.matchAll(numberRegex())) {
    const n = parseNumberText(m[0]);
    if (n) last = n;
  }
  return last;
}

function firstNumberIn(text: string): ExtractedNumber | null {
  for (const m of text.matchAll(numberRegex())) {
    const n = parseNumberText(m[0]);
    if (n) return n;
  }
  return null;
}

/** Markers that introduce the final answer, strongest first. Each captures the text right after it. */
const MARKERS: RegExp[] = [
  /####\s*([^\n]*)/g,
  /\\boxed\s*\{([^{}]*)\}/g,
  /final answer\s*(?:is|:|=)?\s*[:=]?\s*([^\n]{0,60})/gi,
  /\banswer\s*(?:is|:|=)\s*([^\n]{0,60})/gi,
];

/**
 * The final number of an answer: after the strongest marker present ("####", "\boxed{}", "final answer",
 * "answer is"), taking the marker's last occurrence; otherwise the last number in the text.
 */
export function extractFinalNumber(text: string): ExtractedNumber | null {
  const cleaned = text.replace(/\*\*/g, '');
  for (const marker of MARKERS) {
    let found: ExtractedNumber | null = null;
    for (const m of cleaned.matchAll(marker)) {
      const n = firstNumberIn(m[1] ?? '');
      if (n) found = n;
    }
    if (found) return found;
  }
  return lastNumberIn(cleaned);
}

/**
 * True when `got` is the expected number: equal up to floating-point noise, or a correct rounding to the
 * decimals written when the answer gives at least two decimals (1/3 → "0.33").
 */
export function numbersMatch(got: ExtractedNumber, expected: number): boolean {
  const diff = Math.abs(got.value - expected);
  const exactTol = 1e-9 * Math.max(1, Math.abs(expected));
  if (diff <= exactTol) return true;
  if (got.decimals >= 2) return diff <= 0.5 * 10 ** -got.decimals + exactTol;
  return false;
}
