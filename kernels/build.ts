/**
 * `npm run build:kernels` (also run by `npm ci` — the `prepare` script — and by `npm start`, `npm run build`
 * and `npm test`): compiles kernels/decode.c into two WebAssembly modules with clang and lld:
 *
 *   kernels/dist/decode.wasm          for tfjs-wasm's single-threaded SIMD build (its memory is not shared)
 *   kernels/dist/decode-shared.wasm   for its threaded build (shared memory; atomics for the thread pool)
 *
 * Both import tfjs-wasm's memory and must not own any of it: the build fails if a module has a data segment,
 * imports anything but env.memory, or has a global other than the stack pointer (which the loader points at a
 * scratch block of its own). Nothing is rebuilt when the outputs are newer than the source and this script.
 *
 * clang: $CLANG, else `clang`. Missing on Debian/Ubuntu as root, it is installed with apt-get (clang lld);
 * otherwise the build fails saying how to get it. With `--optional` (npm ci, start, dev, build) it says so and
 * exits 0: the app then runs without the kernels, on tfjs-wasm's own ops, and says so in Settings. `npm test`
 * builds without `--optional`, since the kernels' tests need them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

const DIR = import.meta.dirname;
const SOURCE = join(DIR, 'decode.c');
const OUT = join(DIR, 'dist');

const COMMON = ['--target=wasm32', '-O3', '-msimd128', '-mbulk-memory', '-mmutable-globals', '-nostdlib', '-Wall', '-Werror', '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--export=__stack_pointer'];
const VARIANTS: Array<{ file: string; flags: string[] }> = [
  { file: 'decode.wasm', flags: [] },
  { file: 'decode-shared.wasm', flags: ['-matomics', '-Wl,--shared-memory', '-Wl,--max-memory=4294967296'] },
];

function log(line: string): void {
  process.stderr.write(`build:kernels: ${line}\n`);
}

function hasClang(clang: string): boolean {
  return spawnSync(clang, ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('wasm-ld', ['--version'], { stdio: 'ignore' }).status === 0;
}

function ensureClang(): string {
  const clang = process.env.CLANG ?? 'clang';
  if (hasClang(clang)) return clang;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && existsSync('/usr/bin/apt-get')) {
    log('clang or lld (wasm-ld) is missing: installing Debian\'s clang and lld with apt-get…');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'clang', 'lld'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (hasClang(clang)) return clang;
  }
  throw new Error('clang with WebAssembly support and lld (wasm-ld) are needed to build kernels/decode.c. Install them (Debian/Ubuntu: sudo apt-get install clang lld; macOS: brew install llvm lld) or set $CLANG.');
}

/** Section ids and the import/global counts of a module, read from its bytes. */
function sections(bytes: Uint8Array): Map<number, Uint8Array> {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('not a WebAssembly module');
  const out = new Map<number, Uint8Array>();
  let at = 8;
  const leb = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      v |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return v >>> 0;
      shift += 7;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    out.set(id, bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

function check(file: string): void {
  const bytes = new Uint8Array(readFileSync(file));
  const s = sections(bytes);
  if (s.has(11) || s.has(12)) throw new Error(`${file} has a data segment: it would write into tfjs-wasm's memory. Keep constants out of static data.`);
  const module = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length !== 1 || imports[0].module !== 'env' || imports[0].name !== 'memory' || imports[0].kind !== 'memory') {
    throw new Error(`${file} imports ${JSON.stringify(imports)}; only env.memory is allowed.`);
  }
  const globals = s.get(6);
  if (globals && globals[0] !== 1) throw new Error(`${file} has ${globals[0]} globals; only the stack pointer is allowed.`);
}

function fresh(file: string): boolean {
  if (!existsSync(file)) return false;
  const t = statSync(file).mtimeMs;
  return t > statSync(SOURCE).mtimeMs && t > statSync(import.meta.filename).mtimeMs;
}

function main(): void {
  const targets = VARIANTS.map((v) => ({ ...v, path: join(OUT, v.file) }));
  if (targets.every((t) => fresh(t.path))) return;
  const clang = ensureClang();
  mkdirSync(OUT, { recursive: true });
  for (const t of targets) {
    const partial = `${t.path}.${process.pid}.tmp`;
    execFileSync(clang, [...COMMON, ...t.flags, '-o', partial, SOURCE], { stdio: 'inherit' });
    check(partial);
    renameSync(partial, t.path);
    log(`${t.file} (${statSync(t.path).size} bytes)`);
  }
}

const optional = process.argv.includes('--optional');
try {
  main();
} catch (e) {
  log(e instanceof Error ? e.message : String(e));
  if (optional) log('continuing without the kernels: the tfjs engine generates on tfjs-wasm\'s own ops (Settings says so).');
  process.exit(optional ? 0 : 1);
}
