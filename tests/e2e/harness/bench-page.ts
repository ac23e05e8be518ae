/** Runs a benchmark suite (tests/bench/suites/*.ts, bundled into the harness) in this page, for tests/bench/run.ts. */
import type { BenchContext, BenchSuite, SuiteRow } from '../../bench/lib/types.ts';
import { useBackend } from './runtime-api.ts';

const suites = import.meta.glob<{ suite: BenchSuite }>('../../bench/suites/*.ts');

export async function runSuiteInBrowser(name: string, options: Record<string, string | boolean>): Promise<SuiteRow[]> {
  for (const load of Object.values(suites)) {
    const { suite } = await load();
    if (suite.name !== name) continue;
    const ctx: BenchContext = {
      env: 'browser',
      options,
      useBackend: (name) => useBackend(name, typeof options.threads === 'string' ? Number(options.threads) : undefined),
      processBytes: () => (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null,
      log: (line) => console.log(`[bench] ${line}`),
    };
    return suite.run(ctx);
  }
  throw new Error(`no benchmark suite named "${name}" in this harness build`);
}
