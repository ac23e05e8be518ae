/**
 * `npm run bench -- --only peer-browser` (driven from Node): our engine beside llama.cpp in Chromium, on the peer
 * plan's random weights (plan.ts).
 *
 * - llama.cpp: @wllama/wllama (llama.cpp built to WebAssembly, its multi-thread build in a cross-origin isolated
 *   page), installed on first use outside the repo (tests/scripts/wllama-peer.ts), loading the plan's weights as
 *   GGUF F32 written by the project's own writer; F16 KV cache, as llama.cpp's default.
 * - ours: the peer-ours suite in the runtime harness page (the app's headers), F32 and packed F32.
 * Each round, for 1 thread and every core, runs each side in a fresh page (a page's thread count is fixed once
 * its wasm starts), the order flipped every other round; figures are medians over the rounds, as in run.ts.
 * A step is one evaluation plus the greedy pick (wllama: decode + samplingSample, each a message to its worker).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { openBrowser, type BrowserSession } from '../lib/browser.ts';
import { ensureWllamaPeer, WLLAMA_PEER_VERSION } from '../../scripts/wllama-peer.ts';
import type { BenchContext, SuiteRow } from '../lib/types.ts';
import { peerPlan, peerPrompt, type PeerPlan, type SideFigures } from './plan.ts';
import { summary, threadsText, writeGgufs } from './run.ts';
import { median } from '../../../src/core/stats/median.ts';

const SIDES = ['ours F32', 'ours packed F32', 'llama.cpp F32 (wllama)'] as const;
type Side = (typeof SIDES)[number];

/** Serves wllama's files and the GGUF, cross-origin isolated (wllama's threads need SharedArrayBuffer). */
function serveWllama(esm: string, gguf: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (url === '/') {
      res.setHeader('content-type', 'text/html');
      return res.end('<!doctype html><meta charset="utf-8"><title>wllama peer</title>');
    }
    const path = url === '/model.gguf' ? gguf : url.startsWith('/wllama/') ? normalize(join(esm, url.slice('/wllama/'.length))) : null;
    if (!path || (path !== gguf && !path.startsWith(esm)) || !existsSync(path)) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', { '.js': 'text/javascript', '.wasm': 'application/wasm' }[extname(path)] ?? 'application/octet-stream');
    res.setHeader('content-length', String(statSync(path).size));
    createReadStream(path).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    ok({ server, origin: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` });
  }));
}

/** wllama in a fresh page: the same protocol as measure-ours.ts (warm-up, prefill, decode steps after a prompt). */
async function wllamaSide(browser: BrowserSession, origin: string, plan: PeerPlan, threads: number): Promise<SideFigures> {
  const page = await browser.newPage();
  try {
    // tsx keeps function names with a helper (__name) that the serialized function below calls in the page.
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    await page.goto(`${origin}/`);
    const longest = Math.max(plan.prefill, ...plan.contexts) + plan.decodeSteps + 8;
    const prompts = { warm: peerPrompt(8, plan.config.vocabSize), prefill: peerPrompt(plan.prefill, plan.config.vocabSize), contexts: plan.contexts.map((c) => peerPrompt(c, plan.config.vocabSize)) };
    const r = await page.evaluate(
      async ({ prompts, threads, nCtx, steps }) => {
        const { Wllama } = (await import(`${location.origin}/wllama/index.js`)) as { Wllama: new (paths: Record<string, string>, o: object) => any }; // eslint-disable-line @typescript-eslint/no-explicit-any
        const w = new Wllama({ 'single-thread/wllama.wasm': `${location.origin}/wllama/single-thread/wllama.wasm`, 'multi-thread/wllama.wasm': `${location.origin}/wllama/multi-thread/wllama.wasm` }, { suppressNativeLog: true });
        await w.loadModelFromUrl(`${location.origin}/model.gguf`, { n_ctx: nCtx, n_batch: 512, n_threads: threads, cache_type_k: 'f16', cache_type_v: 'f16' });
        await w.samplingInit({ temp: 0 });
        const greedy = async (ids: number[]): Promise<number> => {
          await w.decode(ids, {});
          return (await w.samplingSample()).token as number;
        };
        const t = async (f: () => Promise<number>): Promise<[number, number]> => {
          const t0 = performance.now();
          const v = await f();
          return [v, performance.now() - t0];
        };
        let next = await greedy(prompts.warm);
        for (let i = 0; i < 2; i++) next = await greedy([next]);
        await w.kvClear();
        const [, prefillMs] = await t(() => greedy(prompts.prefill));
        const decode: number[][] = [];
        for (const prompt of prompts.contexts) {
          await w.kvClear();
          next = await greedy(prompt);
          next = await greedy([next]);
          const times: number[] = [];
          for (let s = 0; s < steps; s++) {
            const [id, ms] = await t(() => greedy([next]));
            next = id;
            times.push(ms);
          }
          decode.push(times);
        }
        const used = { multi: w.isMultithread() as boolean, threads: w.getNumThreads() as number };
        await w.exit();
        return { prefillMs, decode, used };
      },
      { prompts, threads, nCtx: longest, steps: plan.decodeSteps },
    );
    if (r.used.threads !== threads) throw new Error(`wllama ran ${r.used.threads} threads where ${threads} were asked (multi-thread build: ${r.used.multi})`);
    return {
      label: `llama.cpp F32 (wllama ${WLLAMA_PEER_VERSION}, ${r.used.multi ? 'multi' : 'single'}-thread build)`,
      threads,
      prefill: (plan.prefill * 1000) / r.prefillMs,
      decode: Object.fromEntries(plan.contexts.map((c, i) => [c, 1000 / median(r.decode[i])])),
    };
  } finally {
    await page.close();
  }
}

/** Ours in a fresh harness page at `threads` (the peer-ours suite with one format). */
async function oursSide(browser: BrowserSession, quick: boolean, threads: number, weights: 'f32' | 'f32-packed'): Promise<SideFigures> {
  const rows = await browser.runInNewPage('peer-ours', { threads: String(threads), weights, ...(quick ? { quick: true } : {}) });
  const get = (prefix: string) => rows.filter((r) => r.metric.startsWith(prefix));
  const prefill = get('prefill')[0];
  if (!prefill) throw new Error(`peer-ours gave no prefill row in Chromium (${threads} threads, ${weights})`);
  return { label: `Chromium ${prefill.backend}`, threads, prefill: prefill.value, decode: Object.fromEntries(get('decode @ context ').map((r) => [Number(r.metric.slice('decode @ context '.length)), r.value])) };
}

export async function runBrowserPeer(ctx: BenchContext): Promise<SuiteRow[]> {
  const quick = ctx.options.quick === true;
  const plan = peerPlan(quick);
  const rows: SuiteRow[] = [{ backend: 'machine', metric: 'load average (1 min) at start', value: loadavg()[0], unit: 'processes', note: `${availableParallelism()} cores` }];
  const esm = await ensureWllamaPeer({ log: ctx.log });
  await ctx.useBackend('cpu'); // this process only writes the weights
  const dir = await mkdtemp(join(tmpdir(), 'peer-browser-'));
  let wllama: Server | null = null;
  let browser: BrowserSession | null = null;
  try {
    const paths = await writeGgufs(plan, dir, ctx.log, ['F32']);
    const served = await serveWllama(esm, paths.F32);
    wllama = served.server;
    browser = await openBrowser(ctx.log);
    ctx.log(`Chromium ${browser.version}`);
    const cores = Math.min(availableParallelism(), 8);
    const threadCounts = [...new Set([1, cores])];
    const runs = new Map<number, Record<Side, SideFigures[]>>(threadCounts.map((t) => [t, { 'ours F32': [], 'ours packed F32': [], 'llama.cpp F32 (wllama)': [] }]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of threadCounts) {
        const r = runs.get(t)!;
        const sides: Array<() => Promise<void>> = [
          async () => {
            r['ours F32'].push(await oursSide(browser!, quick, t, 'f32'));
            r['ours packed F32'].push(await oursSide(browser!, quick, t, 'f32-packed'));
          },
          async () => void r['llama.cpp F32 (wllama)'].push(await wllamaSide(browser!, served.origin, plan, t)),
        ];
        if (round % 2) sides.reverse();
        for (const side of sides) await side();
        ctx.log(`round ${round + 1}, ${threadsText(t)}: ${SIDES.map((s) => summary(s, r[s][r[s].length - 1])).join(' | ')}; load ${loadavg()[0].toFixed(1)}`);
      }
    }
    rows.push(...medianRows(plan, threadCounts, runs));
    rows.push({ backend: 'machine', metric: 'load average (1 min) at end', value: loadavg()[0], unit: 'processes' });
    ctx.log(`\n${markdownTable(rows, plan, threadCounts)}`);
  } finally {
    await browser?.close();
    wllama?.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

function figures(plan: PeerPlan): Array<[string, (s: SideFigures) => number]> {
  return [[`prefill ${plan.prefill} tokens`, (s) => s.prefill], ...plan.contexts.map((c): [string, (s: SideFigures) => number] => [`decode @ context ${c}`, (s) => s.decode[c]])];
}

function medianRows(plan: PeerPlan, threadCounts: readonly number[], runs: ReadonlyMap<number, Record<Side, SideFigures[]>>): SuiteRow[] {
  const rows: SuiteRow[] = [];
  for (const t of threadCounts) {
    const r = runs.get(t)!;
    for (const [metric, f] of figures(plan)) {
      const m = Object.fromEntries(SIDES.map((s) => [s, median(r[s].map(f))])) as Record<Side, number>;
      for (const s of SIDES) rows.push({ backend: `${s}: ${r[s][0].label}`, metric: `${metric}, ${threadsText(t)}`, value: m[s], unit: 'tokens/s', note: `median of ${r[s].length}` });
      const peer = m['llama.cpp F32 (wllama)'];
      rows.push({ backend: 'ours F32 ÷ llama.cpp F32 (Chromium)', metric: `${metric}, ${threadsText(t)}`, value: m['ours F32'] / peer, unit: 'ratio', note: 'goal ≥ 1.0' });
      rows.push({ backend: 'ours packed F32 ÷ llama.cpp F32 (Chromium)', metric: `${metric}, ${threadsText(t)}`, value: m['ours packed F32'] / peer, unit: 'ratio', note: 'goal ≥ 1.0' });
    }
  }
  return rows;
}

/** One line per figure: the three sides and the two ratios per thread count. */
function markdownTable(rows: readonly SuiteRow[], plan: PeerPlan, threadCounts: readonly number[]): string {
  const get = (start: string, metric: string) => rows.find((r) => r.backend.startsWith(start) && r.metric === metric)?.value ?? NaN;
  const f = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
  const head = ['figure (tokens/s, Chromium)', ...threadCounts.flatMap((t) => [...SIDES.map((s) => `${s}, ${threadsText(t)}`), `ours F32 / packed F32 ÷ llama.cpp, ${threadsText(t)}`])];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const [name] of figures(plan)) {
    const cells = [name];
    for (const t of threadCounts) {
      const m = `${name}, ${threadsText(t)}`;
      cells.push(...SIDES.map((s) => f(get(`${s}:`, m))), `${f(get('ours F32 ÷', m), 2)} / ${f(get('ours packed F32 ÷', m), 2)}`);
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
