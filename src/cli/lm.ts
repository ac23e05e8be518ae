/**
 * `npm run -s lm -- <command> [flags]`: the runtime from the command line, for scripts and checks.
 * A command is a module in commands/ exporting `command: CliCommand`; register it with one line below.
 */
import { exitCodeOf } from '../core/errors.ts';
import type { CliCommand } from './args.ts';

const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  logits: () => import('./commands/logits.ts'),
  generate: () => import('./commands/generate.ts'),
  train: () => import('./commands/train.ts'),
  merge: () => import('./commands/merge.ts'),
  'export-gguf': () => import('./commands/export-gguf.ts'),
  'mlc-export': () => import('./commands/mlc-export.ts'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    const lines = await Promise.all(Object.entries(COMMANDS).map(async ([n, load]) => `  ${n.padEnd(10)} ${(await load()).command.summary}`));
    process.stdout.write(`usage: npm run -s lm -- <command> [flags]\ncommands:\n${lines.join('\n')}\n`);
    return name ? 0 : 2;
  }
  const load = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    process.stderr.write(`lm: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}.\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help')) {
    process.stdout.write(`${command.usage()}\n`);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`lm ${name}: ${message}\n`);
    return exitCodeOf(e);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`lm: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
