/**
 * Word-level diff for showing how successive drafts changed. The edit script is Myers' O(ND) shortest edit on
 * the words (whitespace-delimited); whitespace is kept: joining the 'eq' and 'del' parts gives the old text
 * back, joining 'eq' and 'ins' gives the new one.
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

/** A word with the whitespace before it; `tail` holds whitespace after the last word. */
interface Spaced {
  words: string[];
  /** gaps[i] = whitespace before words[i]. */
  gaps: string[];
  tail: string;
}

function spaced(text: string): Spaced {
  const out: Spaced = { words: [], gaps: [], tail: '' };
  let gap = '';
  for (const t of wordTokens(text)) {
    if (/^\s/.test(t)) gap = t;
    else {
      out.words.push(t);
      out.gaps.push(gap);
      gap = '';
    }
  }
  out.tail = gap;
  return out;
}

/**
 * Word-level diff of a → b. Words are matched on their text only (so the edit is minimal in words); the
 * whitespace around them is carried along and shown as changed only where it differs.
 */
export function diffWords(a: string, b: string): DiffPart[] {
  const A = spaced(a);
  const B = spaced(b);
  // Common prefix and suffix of words never need the search.
  let start = 0;
  while (start < A.words.length && start < B.words.length && A.words[start] === B.words[start]) start++;
  let endA = A.words.length;
  let endB = B.words.length;
  while (endA > start && endB > start && A.words[endA - 1] === B.words[endB - 1]) {
    endA--;
    endB--;
  }
  const script: DiffPart[] = [
    ...A.words.slice(0, start).map((text) => ({ op: 'eq' as const, text })),
    ...myers(A.words.slice(start, endA), B.words.slice(start, endB)),
    ...A.words.slice(endA).map((text) => ({ op: 'eq' as const, text })),
  ];
  // Re-attach whitespace: walk both texts along the word script.
  const parts: DiffPart[] = [];
  const gap = (ga: string, gb: string) => {
    if (ga === gb) {
      if (ga) parts.push({ op: 'eq', text: ga });
    } else {
      if (ga) parts.push({ op: 'del', text: ga });
      if (gb) parts.push({ op: 'ins', text: gb });
    }
  };
  let i = 0;
  let j = 0;
  for (const p of script) {
    if (p.op === 'eq') {
      gap(A.gaps[i], B.gaps[j]);
      parts.push({ op: 'eq', text: A.words[i] });
      i++;
      j++;
    } else if (p.op === 'del') {
      parts.push({ op: 'del', text: A.gaps[i] + A.words[i] });
      i++;
    } else {
      parts.push({ op: 'ins', text: B.gaps[j] + B.words[j] });
      j++;
    }
  }
  gap(A.tail, B.tail);
  return hoistSharedSpace(absorbLoneWhitespace(merge(parts)));
}

/** "the| cat→ dog|" reads better as "the |cat→dog|": whitespace both sides of a replacement share moves out. */
function hoistSharedSpace(parts: DiffPart[]): DiffPart[] {
  const out: DiffPart[] = [];
  for (let i = 0; i < parts.length; i++) {
    const d = parts[i];
    const n = parts[i + 1];
    if (d.op === 'del' && n?.op === 'ins') {
      const lead = (t: string) => /^\s*/.exec(t)![0];
      let k = 0;
      const la = lead(d.text);
      const lb = lead(n.text);
      while (k < la.length && k < lb.length && la[k] === lb[k]) k++;
      // Keep at least one visible character in each part.
      if (k > 0 && k < d.text.length && k < n.text.length) {
        out.push({ op: 'eq', text: d.text.slice(0, k) }, { op: 'del', text: d.text.slice(k) }, { op: 'ins', text: n.text.slice(k) });
      } else out.push(d, n);
      i++;
    } else out.push(d);
  }
  return merge(out);
}

/** Counts of words inserted and deleted (whitespace ignored), for a one-line summary. */
export function diffStats(parts: readonly DiffPart[]): { inserted: number; deleted: number } {
  const count = (op: DiffOp) =>
    parts.filter((p) => p.op === op).reduce((n, p) => n + (p.text.match(/\S+/g) ?? []).length, 0);
  return { inserted: count('ins'), deleted: count('del') };
}
