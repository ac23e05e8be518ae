/**
 * Prints the folder graph of src/core, read from the imports: one line per folder with the folders it imports,
 * then the folders by level (every arrow points to a lower line), or the cycles if there are any.
 *   npx tsx tests/scripts/core-graph.ts [--why]     --why also lists the imports behind each arrow
 */
import { folderCycles, folderEdges, folderLevels, readImports } from './import-graph.ts';

const why = process.argv.includes('--why');
const graph = folderEdges('src/core', readImports(['src/core']));
const folders = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((r) => [...r.keys()])])].sort();

console.log('src/core folder → folders it imports (`.` = files directly in src/core)');
for (const f of folders) {
  const row = graph.get(f);
  const targets = row ? [...row.keys()].sort() : [];
  console.log(`  ${f.padEnd(8)} → ${targets.length ? targets.join(', ') : '(none)'}`);
  if (why && row) for (const t of [...row.keys()].sort()) for (const w of row.get(t)!) console.log(`      ${w}`);
}

const cycles = folderCycles(graph);
if (cycles.length) {
  console.log(`\n${cycles.length} folder cycle(s):`);
  for (const c of cycles) console.log(`  ${c.join(' ↔ ')}`);
  process.exitCode = 1;
} else {
  console.log('\nno cycle; by level (a folder imports only folders on lower lines):');
  const levels = folderLevels(graph)!;
  levels.forEach((folders, i) => console.log(`  ${String(levels.length - 1 - i).padStart(2)}  ${folders.join(', ')}`));
}
