/**
 * llama.cpp as a peer for tests and benches, through node-llama-cpp pinned at 3.21.1 (its prebuilt CPU
 * binaries install here; newer releases may not). It is never a project dependency: on first use it is
 * installed into a cache folder outside the repo, with only what its CPU build needs:
 *
 *   npm install --omit=optional --ignore-scripts node-llama-cpp@3.21.1 @node-llama-cpp/<platform>@3.21.1
 *
 * `--omit=optional` leaves out the thirteen other prebuilt packages (CUDA, Vulkan, other platforms: most of
 * a full install's ~700 MB); the one CPU package for this platform is named explicitly. `--ignore-scripts`
 * skips node-llama-cpp's postinstall, which would look for a GPU or a source build; `getLlama({ gpu: false,
 * build: 'never' })` then loads the prebuilt binary. The folder is written under a temporary name and renamed
 * when complete, so concurrent first uses cannot see half an install.
 *
 * Folder: $LLAMA_PEER_DIR, else $XDG_CACHE_HOME/self-refine-studio, else ~/.cache/self-refine-studio; then
 * node-llama-cpp-3.21.1/.
 *
 * What it offers (enough for `npm test`'s comparison and for `npm run bench`): load a GGUF with an optional
 * LoRA adapter and scale, an F32 (default) or F16 KV cache and a thread count; evaluate token ids and get the
 * log-softmax of the logits after every position; greedy decoding; llama.cpp's own tokenizer.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const LLAMA_PEER_VERSION = '3.21.1';

/** node-llama-cpp's prebuilt CPU package for each platform it ships one for. */
const CPU_PACKAGES: Record<string, string> = {
  'linux-x64': '@node-llama-cpp/linux-x64',
  'linux-arm64': '@node-llama-cpp/linux-arm64',
  'darwin-arm64': '@node-llama-cpp/mac-arm64-metal',
  'darwin-x64': '@node-llama-cpp/mac-x64',
  'win32-x64': '@node-llama-cpp/win-x64',
  'win32-arm64': '@node-llama-cpp/win-arm64',
};

const COMPLETE = '.complete';

export function llamaPeerDir(): string {
  return join(peerCacheRoot(), `node-llama-cpp-${LLAMA_PEER_VERSION}`);
}

export interface EnsureOptions {
  /** Progress lines (the first install takes about half a minute). */
  log?: (line: string) => void;
}

/**
 * The folder holding node_modules/node-llama-cpp, installed on first use. Throws an Error saying why when it
 * cannot be installed (no registry, unsupported platform, npm failure): callers fail, they do not skip.
 */
export async function ensureLlamaPeer(options: EnsureOptions = {}): Promise<string> {
  const key = `${process.platform}-${process.arch}`;
  const cpu = CPU_PACKAGES[key];
  if (!cpu) throw new Error(`node-llama-cpp ${LLAMA_PEER_VERSION} ships no prebuilt CPU binary for ${key}; the llama.cpp peer cannot be installed here.`);
  return ensureCachedInstall(llamaPeerDir(), [`node-llama-cpp@${LLAMA_PEER_VERSION}`, `${cpu}@${LLAMA_PEER_VERSION}`], `node-llama-cpp ${LLAMA_PEER_VERSION} (+ ${cpu})`, options);
}

/** The cache folder that peers install into ($LLAMA_PEER_DIR, else $XDG_CACHE_HOME/self-refine-studio, else ~/.cache/…). */
export function peerCacheRoot(): string {
  return process.env.LLAMA_PEER_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'self-refine-studio');
}

/**
 * `dir` holding node_modules/<packages>, installed on first use with npm (no optional packages, no install
 * scripts), renamed into place when complete so that concurrent first uses cannot see half an install.
 */
export async function ensureCachedInstall(dir: string, packages: string[], label: string, options: EnsureOptions = {}): Promise<string> {
  if (existsSync(join(dir, COMPLETE))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, 'package.json'), JSON.stringify({ name: 'peer', private: true, description: 'a peer for Self-Refine Studio tests and benchmarks' }, null, 2));
    options.log?.(`installing ${label} into ${dir}`);
    await runNpm(['install', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...packages], tmp);
    await writeFile(join(tmp, COMPLETE), `${new Date().toISOString()}\n`);
    try {
      await rename(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, COMPLETE))) throw e; // another process finished first: use its install
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(`${label} could not be installed into ${dir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return dir;
}

/** npm as the running one (npm_execpath under `npm test`), else from PATH. */
function runNpm(args: string[], cwd: string): Promise<void> {
  const execPath = process.env.npm_execpath;
  const [cmd, argv] = execPath && /npm-cli\.js$/.test(execPath) ? [process.execPath, [execPath, ...args]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (e) => reject(new Error(`could not start npm (${e.message})`)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const lines = out.trim().split('\n');
      const errors = lines.filter((l) => l.startsWith('npm error')).slice(0, 4); // code, summary, first details
      reject(new Error(`npm install exited with ${code}: ${(errors.length ? errors : lines.slice(-4)).join('\n')}`));
    });
  });
}

/** Bytes under a folder (for reporting the install's size). */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(p);
    else if (entry.isFile()) total += (await stat(p)).size;
  }
  return total;
}

// The slice of node-llama-cpp's API used here (its types live in the cache folder, not in this project).
interface NlcToken {
  readonly __token?: never;
}
type Token = number & NlcToken;
interface NlcSequence {
  clearHistory(): Promise<void>;
  controlledEvaluate(input: Array<Token | [Token, { generateNext?: { probabilities?: boolean; token?: boolean } }]>): Promise<Array<undefined | { next: { token?: Token | null; probabilities?: Map<Token, number> } }>>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
}
interface NlcModel {
  tokenize(text: string, specialTokens?: boolean): Token[];
  readonly tokens: { readonly bos: Token | null; readonly eos: Token | null };
  readonly fileInfo: { metadata: Record<string, unknown> };
  createContext(o: Record<string, unknown>): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcLlama {
  loadModel(o: { modelPath: string; gpuLayers?: number }): Promise<NlcModel>;
}
interface NodeLlamaCpp {
  getLlama(o: Record<string, unknown>): Promise<NlcLlama>;
}

let llamaPromise: Promise<NlcLlama> | null = null;

/** node-llama-cpp's module, installing it first when needed. */
export async function loadNodeLlamaCpp(options: EnsureOptions = {}): Promise<NodeLlamaCpp> {
  const dir = await ensureLlamaPeer(options);
  const entry = join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  return (await import(pathToFileURL(entry).href)) as NodeLlamaCpp;
}

/** One CPU llama.cpp instance per process (prebuilt binary, never a source build). */
export function llamaPeer(options: EnsureOptions = {}): Promise<NlcLlama> {
  llamaPromise ??= loadNodeLlamaCpp(options).then((m) => m.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' }));
  return llamaPromise;
}

export interface PeerModelOptions {
  /** LoRA adapters (adapter.gguf files) applied on the context, each with its scale (default 1). */
  lora?: ReadonlyArray<{ path: string; scale?: number }>;
  /** KV cache type: F32 for exact comparisons (default); llama.cpp's own default F16 alone moves logits by ~2e-3. */
  kvCache?: 'F32' | 'F16';
  /** CPU threads for evaluation (default 1). */
  threads?: number;
  /** Context (and batch) size in tokens (default 256). */
  contextSize?: number;
}

export interface PeerModel {
  readonly vocabSize: number;
  /** GGUF metadata as llama.cpp's wrapper read it. */
  readonly metadata: Record<string, unknown>;
  /** log-softmax of the logits after each of `ids` (a fresh sequence): [ids.length][vocab]. */
  logProbs(ids: readonly number[]): Promise<Float64Array[]>;
  /** `n` greedily decoded token ids after `ids`. */
  greedy(ids: readonly number[], n: number): Promise<number[]>;
  /**
   * The same, timed (for the bench): `prefillMs` evaluates `ids` in one batch and picks the first token;
   * each of the n − 1 `stepMs` feeds one token and picks the next. A fresh sequence each call.
   */
  timedGreedy(ids: readonly number[], n: number): Promise<{ tokens: number[]; prefillMs: number; stepMs: number[] }>;
  /** llama.cpp's own tokenization of `text` (special tokens written in it are parsed; no BOS added). */
  tokenize(text: string): number[];
  dispose(): Promise<void>;
}

/** Loads a GGUF in llama.cpp (CPU). */
export async function openPeerModel(modelPath: string, o: PeerModelOptions = {}): Promise<PeerModel> {
  const llama = await llamaPeer();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const size = o.contextSize ?? 256;
  const kv = o.kvCache ?? 'F32';
  const context = await model.createContext({
    contextSize: size,
    batchSize: size,
    threads: o.threads ?? 1,
    flashAttention: false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
    ...(o.lora?.length ? { lora: { adapters: o.lora.map((a) => ({ filePath: a.path, scale: a.scale ?? 1 })) } } : {}),
  });
  const seq = context.getSequence();
  const metadata = model.fileInfo.metadata;
  const tokens = ((metadata.tokenizer as Record<string, unknown> | undefined)?.ggml as Record<string, unknown> | undefined)?.tokens;
  const vocabSize = Array.isArray(tokens) ? tokens.length : 0;
  const timedGreedy: PeerModel['timedGreedy'] = async (ids, n) => {
    await seq.clearHistory();
    const got: number[] = [];
    const stepMs: number[] = [];
    let prefillMs = 0;
    let input: number[] = [...ids];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const out = await seq.controlledEvaluate(input.map((id, j) => (j === input.length - 1 ? [id as Token, { generateNext: { token: true } }] : (id as Token))));
      const ms = performance.now() - t0;
      if (i === 0) prefillMs = ms;
      else stepMs.push(ms);
      const next = out[input.length - 1]?.next.token;
      if (next === undefined || next === null) break;
      got.push(next);
      input = [next];
    }
    return { tokens: got, prefillMs, stepMs };
  };
  return {
    vocabSize,
    metadata,
    async logProbs(ids) {
      await seq.clearHistory();
      const out = await seq.controlledEvaluate(ids.map((id) => [id as Token, { generateNext: { probabilities: true } }]));
      return ids.map((_, t) => {
        const probs = out[t]?.next.probabilities;
        if (!probs) throw new Error(`llama.cpp returned no probabilities for position ${t}.`);
        const row = new Float64Array(vocabSize);
        for (let v = 0; v < vocabSize; v++) row[v] = Math.log(probs.get(v as Token) ?? 0);
        return row;
      });
    },
    async greedy(ids, n) {
      return (await timedGreedy(ids, n)).tokens;
    },
    timedGreedy,
    tokenize: (text) => model.tokenize(text, true).map(Number),
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}
