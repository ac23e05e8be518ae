/** `npm run toy:build [-- --seed N --minutes M --out DIR]`: see toy-builder.ts. */
import { AppError } from '../core/errors.ts';
import { buildToyModel, toyBuildUsage } from './toy-builder.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  process.stdout.write(`${toyBuildUsage()}\n`);
  process.exit(0);
}
buildToyModel(argv).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`toy:build: ${e instanceof AppError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(e instanceof AppError && e.code === 'bad-input' ? 2 : 1);
  },
);
