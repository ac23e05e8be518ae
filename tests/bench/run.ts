/**
 * `npm run bench [-- --only <suite>[,<suite>…]] [--env node|browser] [--quick]`
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

interface Args {
  only: string[] | null;
  envs: BenchEnv[];
  options: Record<string, string | boolean>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: null, envs: ['node', 'browser'], options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only' && argv[i + 1]) args.only = [...(args.only ?? []), ...argv[++i].split(',')];
    else if (a === '--env' && (argv[i + 1] === 'node' || argv[i + 1] === 'browser')) args.envs = [argv[++i] as BenchEnv];
    else if (a === '--quick') args.options.quick = true;
    else throw new Error(`bench: unknown or incomplete argument "${a}". Use --only <suite>, --env node|browser, --quick.`);
  }
  return args;
}

async function loadSuites(only: string[] | null): Promise<BenchSuite[]> {
  const files = (await readdir(join(ROOT, 'suites'))).filter((f) => f.endsWith('.ts')).sort();
  const suites: BenchSuite[] = [];
  for (const f of files) suites.push(((await import(pathToFileURL(join(ROOT, 'suites', f)).href)) as { suite: BenchSuite }).suite);
  if (!only) return suites;
  const unknown = only.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length) throw new Error(`bench: no suite named ${unknown.join(', ')}. Suites: ${suites.map((s) => s.name).join(', ')}.`);
  return suites.filter((s) => only.includes(s.name));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
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
            useBackend: async (name) => ({ ...(await useNodeBackend(name)), crossOriginIsolated: null }),
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
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
