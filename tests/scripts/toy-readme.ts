/**
 * `npx tsx tests/scripts/toy-readme.ts [--check]`: writes the results block (the comparison table and the goals)
 * of the toy README and of the project README from public/models/toy-arith/self_eval.json, srt_eval.json and browser_round.json, which `npm run bench -- --only
 * toy-self` and `--only toy-srt` store. `--check` only says whether the README is up to date (exit 1 if not);
 * tests/unit/toy-readme.test.ts checks the same.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeResults, withReadmeResults } from '../../src/core/toy/comparison.ts';

const root = join(import.meta.dirname, '../..');
const model = join(root, 'public/models/toy-arith');
const json = (f: string) => (existsSync(join(model, f)) ? JSON.parse(readFileSync(join(model, f), 'utf8')) : null);
const results = readmeResults(json('self_eval.json'), json('srt_eval.json'), json('browser_round.json'));
const check = process.argv.includes('--check');
let stale = false;

for (const readmePath of [join(root, 'src/core/toy/README.md'), join(root, 'README.md')]) {
  const readme = readFileSync(readmePath, 'utf8');
  const next = withReadmeResults(readme, results);
  if (check) {
    stale ||= next !== readme;
    process.stdout.write(next === readme ? `${readmePath} is up to date\n` : `${readmePath} is out of date: run npx tsx tests/scripts/toy-readme.ts\n`);
  } else {
    writeFileSync(readmePath, next);
    process.stdout.write(`wrote ${readmePath}\n`);
  }
}
if (stale) process.exit(1);
