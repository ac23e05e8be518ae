/**
 * Command-line flags for `npm run lm -- <command> …`: `--name value` or `--name=value`, typed by a spec, with
 * errors that name the flag and list the valid ones (AppError('bad-input'), exit code 2).
 */
import { AppError, exitCodeOf } from '../core/errors.ts';

export type FlagKind = 'string' | 'number' | 'int' | 'boolean';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  required?: boolean;
  /** Shown in usage, e.g. DIR, N. */
  value?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<K extends FlagKind> = K extends 'boolean' ? boolean : K extends 'string' ? string : number;
export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]: S[K]['required'] extends true ? ValueOf<S[K]['kind']> : ValueOf<S[K]['kind']> | undefined;
};

/** One subcommand of `lm`. Adding a command = one file in commands/ plus one line in lm.ts. */
export interface CliCommand {
  name: string;
  summary: string;
  usage(): string;
  run(argv: string[]): Promise<void>;
}

export function parseFlags<S extends FlagSpecs>(command: string, argv: readonly string[], specs: S): ParsedFlags<S> {
  const out: Record<string, string | number | boolean> = {};
  const fail = (problem: string): never => {
    throw new AppError('bad-input', `${problem}.\n${usageOf(command, specs)}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') fail(`unexpected argument "${arg}" (every value follows a --flag)`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    if (!spec) fail(`unknown flag --${name}`);
    const s = spec as FlagSpec;
    if (Object.prototype.hasOwnProperty.call(out, name)) fail(`--${name} is given twice`);
    if (s.kind === 'boolean') {
      if (eq > 0) fail(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let raw: string;
    if (eq > 0) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && s.kind === 'string')) fail(`--${name} needs a value (${s.value ?? s.kind})`);
      raw = argv[++i];
    }
    if (s.kind === 'string') out[name] = raw;
    else {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n)) fail(`--${name} must be a number, not "${raw}"`);
      if (s.kind === 'int' && !Number.isInteger(n)) fail(`--${name} must be a whole number, not "${raw}"`);
      out[name] = n;
    }
  }
  for (const [name, s] of Object.entries(specs)) if (s.required && !(name in out)) fail(`--${name} is required`);
  return out as ParsedFlags<S>;
}

export function usageOf(command: string, specs: FlagSpecs): string {
  const lines = Object.entries(specs).map(([name, s]) => {
    const flag = s.kind === 'boolean' ? `--${name}` : `--${name} ${s.value ?? s.kind.toUpperCase()}`;
    return `  ${flag.padEnd(28)} ${s.help}${s.required ? ' (required)' : ''}`;
  });
  // An lm subcommand by name, or a whole invocation (e.g. "npx tsx src/cli/toy-eval.ts").
  const invocation = command.includes(' ') ? command : `npm run -s lm -- ${command}`;
  return `usage: ${invocation} [flags]\n${lines.join('\n')}`;
}

/** Comma-separated whole numbers, e.g. "1,2,3". */
export function parseIdList(text: string, flag: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new AppError('bad-input', `${flag} must be comma-separated token ids like 1,2,3 (rows separated by ":"), not "${text}".`);
  }
  return parts.map(Number);
}

/**
 * Runs a stand-alone script's main with the process's arguments: `--help` prints `usage` and exits 0; an
 * error prints `<name>: message` and exits 2 for refused input (exitCodeOf), 1 otherwise.
 */
export function runScript(name: string, usage: () => string, main: (argv: string[]) => Promise<unknown>): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  main(argv).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${name}: ${e instanceof AppError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(exitCodeOf(e));
    },
  );
}
