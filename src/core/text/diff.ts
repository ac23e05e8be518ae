/**
 * Word-level diff for showing how successive drafts changed. Tokens are words and the whitespace between them;
 * the edit script is Myers' O(ND) shortest edit on those tokens. Whitespace is kept: joining the 'eq' and 'del'
 * parts gives the old text back, joining 'eq' and 'ins' gives the new one.
 */
export type DiffOp = 'eq' | 'ins' | 'del';

export interface DiffPart {
  op: DiffOp;
  text: string;
}

/** Splits text into alternating runs of whitespace and non-whitespace ("a  b" → ["a", "  ", "b"]). */
export function wordTokens(text: string): string[] {
  return text.match(/\s+|\S+/g) ?? [];
}

/**
 * Shortest edit script between token arrays a and b (Myers 1986, greedy forward search with the trace kept
 * to backtrack). Returns one op per token.
 */
function myers(a: readonly string[], b: readonly string[]): DiffPart[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3); // v[k + offset] = furthest x on diagonal k
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    // Keep only the diagonals that step d could reach: -d..d (plus neighbours read on the next step).
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])) x = v[offset + k + 1];
      else x = v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }

  // Backtrack from (n, m) through the saved frontiers.
  const out: DiffPart[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const saved = trace[d]; // diagonals -d-1 .. d+1 as they were before step d
    const at = (k: number) => saved[k + d + 1];
    const k = x - y;
    let prevK: number;
    if (k === -d || (k !== d && at(k - 1) < at(k + 1))) prevK = k + 1;
    else prevK = k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: 'eq', text: a[x - 1] });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ op: 'ins', text: b[y - 1] });
      else out.push({ op: 'del', text: a[x - 1] });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/** Joins neighbouring parts with the same op; within a change, deletions come before insertions. */
function merge(parts: readonly DiffPart[]): DiffPart[] {
  const out: DiffPart[] = [];
  let i = 0;
  while (i < parts.length) {
    if (parts[i].op === 'eq') {
      let text = '';
      while (i < parts.length && parts[i].op === 'eq') text += parts[i++].text;
      out.push({ op: 'eq', text });
      continue;
    }
    let del = '';
    let ins = '';
    while (i < parts.length && parts[i].op !== 'eq') {
      if (parts[i].op === 'del') del += parts[i].text;
      else ins += parts[i].text;
      i++;
    }
    if (del) out.push({ op: 'del', text: del });
    if (ins) out.push({ op: 'ins', text: ins });
  }
  return out;
}

/**
 * A lone run of whitespace kept equal between two changes only fragments the display ("-a +b   -c +d");
 * fold it into the surrounding change so the reader sees one replaced phrase.
 */
function absorbLoneWhitespace(parts: readonly DiffPart[]): DiffPart[] {
  const out: DiffPart[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const between = i > 0 && i < parts.length - 1 && parts[i - 1].op !== 'eq' && parts[i + 1].op !== 'eq';
    if (p.op === 'eq' && between && /^\s+$/.test(p.text)) {
      out.push({ op: 'del', text: p.text }, { op: 'ins', text: p.text });
    } else out.push(p);
  }
  return merge(out);
}

/** Word-level diff of a → b. */
export function diffWords(a: string, b: string): DiffPart[] {
  const ta = wordTokens(a);
  const tb = wordTokens(b);
  // Common prefix and suffix never need the search.
  let start = 0;
  while (start < ta.length && start < tb.length && ta[start] === tb[start]) start++;
  let endA = ta.length;
  let endB = tb.length;
  while (endA > start && endB > start && ta[endA - 1] === tb[endB - 1]) {
    endA--;
    endB--;
  }
  const parts: DiffPart[] = [
    ...ta.slice(0, start).map((text) => ({ op: 'eq' as const, text })),
    ...myers(ta.slice(start, endA), tb.slice(start, endB)),
    ...ta.slice(endA).map((text) => ({ op: 'eq' as const, text })),
  ];
  return absorbLoneWhitespace(merge(parts));
}

/** Counts of words inserted and deleted (whitespace ignored), for a one-line summary. */
export function diffStats(parts: readonly DiffPart[]): { inserted: number; deleted: number } {
  const count = (op: DiffOp) =>
    parts.filter((p) => p.op === op).reduce((n, p) => n + (p.text.match(/\S+/g) ?? []).length, 0);
  return { inserted: count('ins'), deleted: count('del') };
}
