/**
 * `npm run bench [-- --only <suite>[,<suite>…]] [--env node|browser] [--quick] [--threads N] [--help]`
 *
 * Runs every suite in tests/bench/suites/ (a module exporting `suite: BenchSuite`, see lib/types.ts) in Node
 * and, where the suite supports it, in Chromium through the runtime harness; prints one table and writes
 * tests/bench/results/<timestamp>.json and tests/bench/results/latest.json. A benchmark, not a test: it asserts
 * nothing.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { openBrowser, type BrowserSession } from './lib/browser.ts';
import { formatTable } from './lib/table.ts';
import type { BenchContext, BenchEnv, BenchRow, BenchSuite } from './lib/types.ts';

const ROOT = resolve(import.meta.dirname);

const USAGE = `usage: npm run bench [-- --only <suite>[,<suite>…]] [--env node|browser] [--quick] [--threads N] [--help]
  --only <suite>   run only these suites (comma-separated; the flag may repeat)
  --env <env>      node or browser (default both, where a suite supports it)
  --quick          suites shrink their work (a smoke run of the machinery)
  --threads <n>    most tfjs-wasm threads, in Node and in Chromium (default every core)
  --help           this text, and the suites
Prints one table and writes tests/bench/results/latest.json (see tests/bench/README.md).`;

class UsageError extends Error {}

interface Args {
  help: boolean;
  only: string[] | null;
  envs: BenchEnv[];
  options: Record<string, string | boolean>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { help: false, only: null, envs: ['node', 'browser'], options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only' && argv[i + 1]) args.only = [...(args.only ?? []), ...argv[++i].split(',')];
    else if (a === '--env' && (argv[i + 1] === 'node' || argv[i + 1] === 'browser')) args.envs = [argv[++i] as BenchEnv];
    else if (a === '--quick') args.options.quick = true;
    else if (a === '--threads' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) args.options.threads = argv[++i];
    else if (a === '--help' || a === '-h') args.help = true;
    else throw new UsageError(`bench: unknown or incomplete argument "${a}".`);
  }
  return args;
}

async function loadSuites(only: string[] | null): Promise<BenchSuite[]> {
  const files = (await readdir(join(ROOT, 'suites'))).filter((f) => f.endsWith('.ts')).sort();
  const suites: BenchSuite[] = [];
  for (const f of files) suites.push(((await import(pathToFileURL(join(ROOT, 'suites', f)).href)) as { suite: BenchSuite }).suite);
  if (!only) return suites;
  const unknown = only.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length) throw new UsageError(`bench: no suite named ${unknown.join(', ')}. Suites: ${suites.map((s) => s.name).join(', ')}.`);
  return suites.filter((s) => only.includes(s.name));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    const all = await loadSuites(null);
    process.stdout.write(`${USAGE}\nsuites:\n${all.map((s) => `  ${s.name.padEnd(17)} [${s.environments.join(', ')}] ${s.description}`).join('\n')}\n`);
    return;
  }
  const suites = await loadSuites(args.only);
  const startedAt = new Date();
  const rows: BenchRow[] = [];
  let browser: BrowserSession | null = null;
  try {
    for (const suite of suites) {
      for (const env of args.envs.filter((e) => suite.environments.includes(e))) {
        log(`== ${suite.name} (${env}): ${suite.description}`);
        let got;
        if (env === 'node') {
          const ctx: BenchContext = {
            env,
            options: args.options,
            useBackend: async (name) => ({ ...(await useNodeBackend(name, { threads: args.options.threads ? Number(args.options.threads) : null })), crossOriginIsolated: null }),
            processBytes: () => process.memoryUsage().rss,
            log: (l) => log(`  ${l}`),
          };
          got = await suite.run(ctx);
        } else {
          browser ??= await openBrowser(log);
          got = await browser.run(suite.name, args.options);
        }
        rows.push(...got.map((r) => ({ suite: suite.name, env, ...r })));
      }
    }
  } finally {
    await browser?.close();
  }
  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { platform: process.platform, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryBytes: totalmem(), node: process.version, chromium: browser?.version ?? null },
    options: args.options,
    rows,
  };
  const dir = join(ROOT, 'results');
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  await writeFile(join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  process.stdout.write(`${formatTable(rows)}\n`);
  log(`results: tests/bench/results/latest.json`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof UsageError) {
      log(`${e.message}\n${USAGE}`);
      process.exit(2);
    }
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
