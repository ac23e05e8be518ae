/**
 * `npx tsx tests/scripts/toy-readme.ts [--check]`: writes the toy README's results block (the comparison table
 * and the goals) from public/models/toy-arith/self_eval.json, srt_eval.json and browser_round.json, which `npm run bench -- --only
 * toy-self` and `--only toy-srt` store. `--check` only says whether the README is up to date (exit 1 if not);
 * tests/unit/toy-readme.test.ts checks the same.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeResults, withReadmeResults } from '../../src/core/toy/comparison.ts';

const root = join(import.meta.dirname, '../..');
const model = join(root, 'public/models/toy-arith');
const readmePath = join(root, 'src/core/toy/README.md');
const json = (f: string) => (existsSync(join(model, f)) ? JSON.parse(readFileSync(join(model, f), 'utf8')) : null);

const readme = readFileSync(readmePath, 'utf8');
const next = withReadmeResults(readme, readmeResults(json('self_eval.json'), json('srt_eval.json'), json('browser_round.json')));
if (process.argv.includes('--check')) {
  process.stdout.write(next === readme ? 'the README is up to date\n' : 'the README is out of date: run npx tsx tests/scripts/toy-readme.ts\n');
  process.exit(next === readme ? 0 : 1);
}
writeFileSync(readmePath, next);
process.stdout.write(`wrote ${readmePath}\n`);
