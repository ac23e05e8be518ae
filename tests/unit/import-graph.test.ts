/**
 * The house rules on imports, read from the source (tests/scripts/import-graph.ts; print the graph with
 * `npx tsx tests/scripts/core-graph.ts`): no folder cycle inside src/core, src/core imports neither src/db nor
 * src/ui, src/db does not import src/ui, and nothing outside src/ui imports it but the app's entry.
 */
import { describe, expect, it } from 'vitest';
import { folderCycles, folderEdges, folderLevels, importSpecifiers, readImports } from '../scripts/import-graph.ts';

const edges = readImports(['src', 'workers']);
const under = (dir: string) => (path: string) => path.startsWith(`${dir}/`);

describe('import graph', () => {
  it('reads static, dynamic, type-only, re-export and worker imports', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type {\n  B,\n} from '../b.ts';",
      "export { c } from './c.ts';",
      "const d = await import('./d.ts');",
      "import './e.css';",
      "new Worker(new URL('./f.worker.ts', import.meta.url));",
      "import * as tf from '@tensorflow/tfjs';",
    ].join('\n');
    expect(importSpecifiers(text).sort()).toEqual(['../b.ts', './a.ts', './c.ts', './d.ts', './e.css', './f.worker.ts']);
    expect(edges.some((e) => e.from === 'src/core/model/llama.ts' && e.to === 'src/core/model/attention.ts')).toBe(true);
  });

  it('finds a cycle when there is one', () => {
    const graph = folderEdges('src/core', [
      { from: 'src/core/a/x.ts', to: 'src/core/b/y.ts' },
      { from: 'src/core/b/y.ts', to: 'src/core/c/z.ts' },
      { from: 'src/core/c/z.ts', to: 'src/core/a/w.ts' },
      { from: 'src/core/c/z.ts', to: 'src/core/d/v.ts' },
    ]);
    expect(folderCycles(graph)).toEqual([['a', 'b', 'c']]);
    expect(folderLevels(graph)).toBeNull();
    expect(folderLevels(folderEdges('src/core', [{ from: 'src/core/a/x.ts', to: 'src/core/b/y.ts' }, { from: 'src/core/b/y.ts', to: 'src/core/c/z.ts' }, { from: 'src/core/a/x.ts', to: 'src/core/c/z.ts' }]))).toEqual([['a'], ['b'], ['c']]);
  });

  it('src/core has no folder cycle', () => {
    const graph = folderEdges('src/core', edges);
    const cycles = folderCycles(graph).map((c) => {
      const why = c.flatMap((a) => c.flatMap((b) => graph.get(a)?.get(b) ?? []));
      return `${c.join(' ↔ ')}:\n  ${why.join('\n  ')}`;
    });
    expect(cycles).toEqual([]);
    expect(folderLevels(graph)).not.toBeNull();
  });

  it('arrows point down: core imports neither db nor ui, db does not import ui, nothing but the entry imports ui', () => {
    const upward = edges.filter(
      (e) =>
        (under('src/core')(e.from) && (under('src/db')(e.to) || under('src/ui')(e.to))) ||
        (under('src/db')(e.from) && under('src/ui')(e.to)) ||
        (!under('src/ui')(e.from) && e.from !== 'src/main.ts' && under('src/ui')(e.to)),
    );
    expect(upward.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });
});
