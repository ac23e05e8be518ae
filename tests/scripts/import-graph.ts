/**
 * The folder graph of the source tree, read from the import statements (static, dynamic and `export … from`,
 * type-only imports included). Used by `tests/scripts/core-graph.ts` (prints it) and by
 * `tests/unit/import-graph.test.ts` (fails on a folder cycle inside src/core and on an upward import).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One import: the importing file and the imported one, both relative to the repo root with `/` separators. */
export interface ImportEdge {
  from: string;
  to: string;
}

const SOURCE = /\.(ts|svelte)$/;
const PATTERNS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '…', export { x } from '…'
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
  /^\s*import\s+['"]([^'"]+)['"]/gm, // import '…' (side effect)
  /\bnew\s+URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url/g, // new URL('…', import.meta.url) (workers)
];

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

const posix = (p: string): string => p.split(sep).join('/');

/** The relative import specifiers of one file's text (bare package names are left out). */
export function importSpecifiers(text: string): string[] {
  const found = new Set<string>();
  for (const re of PATTERNS) for (const m of text.matchAll(re)) if (m[1].startsWith('.')) found.add(m[1]);
  return [...found];
}

/** Every relative import of the files under `dirs` (repo-relative folders). */
export function readImports(dirs: string[], root = REPO_ROOT): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const d of dirs) {
    for (const file of walk(join(root, d), [])) {
      const text = readFileSync(file, 'utf8');
      for (const spec of importSpecifiers(text)) {
        edges.push({ from: posix(relative(root, file)), to: posix(relative(root, resolve(dirname(file), spec))) });
      }
    }
  }
  return edges;
}

/** The folder of `file` one level below `base` (`src/core/model/llama.ts` → `model`); `.` for a file in `base`. */
export function folderUnder(base: string, file: string): string | null {
  if (!file.startsWith(base + '/')) return null;
  const rest = file.slice(base.length + 1).split('/');
  return rest.length === 1 ? '.' : rest[0];
}

/** Folder → folder edges under `base` (self-edges left out), with the files that make each edge. */
export function folderEdges(base: string, edges: ImportEdge[]): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const e of edges) {
    const a = folderUnder(base, e.from);
    const b = folderUnder(base, e.to);
    if (a === null || b === null || a === b) continue;
    const row = out.get(a) ?? new Map<string, string[]>();
    out.set(a, row);
    const why = row.get(b) ?? [];
    row.set(b, why);
    why.push(`${e.from} → ${e.to}`);
  }
  return out;
}

/** The cycles of a folder graph, one per strongly connected component with more than one folder (Tarjan). */
export function folderCycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const nodes = new Set<string>();
  for (const [a, row] of graph) {
    nodes.add(a);
    for (const b of row.keys()) nodes.add(b);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) components.push(comp.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return components;
}

/**
 * Folders by level, top first: a folder's level is one more than the highest level it imports (0 = imports no
 * other folder), so every arrow points to a lower line. Null if there is a cycle.
 */
export function folderLevels(graph: Map<string, Map<string, string[]>>): string[][] | null {
  const nodes = new Set<string>();
  for (const [a, row] of graph) {
    nodes.add(a);
    for (const b of row.keys()) nodes.add(b);
  }
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (n: string): number | null => {
    const known = level.get(n);
    if (known !== undefined) return known;
    if (visiting.has(n)) return null;
    visiting.add(n);
    let l = 0;
    for (const b of graph.get(n)?.keys() ?? []) {
      const d = depth(b);
      if (d === null) return null;
      l = Math.max(l, d + 1);
    }
    visiting.delete(n);
    level.set(n, l);
    return l;
  };
  for (const n of nodes) if (depth(n) === null) return null;
  const top = Math.max(0, ...level.values());
  return Array.from({ length: top + 1 }, (_, i) => [...nodes].filter((n) => level.get(n) === top - i).sort());
}
