/** How many tfjs-wasm threads run, and why (src/core/backend/threads.ts). */
import { describe, expect, it } from 'vitest';
import { chooseWasmThreads, MAX_WASM_THREADS, parseThreadCap } from '../../src/core/backend/threads.ts';

describe('chooseWasmThreads', () => {
  it('uses every core by default, up to what the threaded build runs', () => {
    expect(chooseWasmThreads({ cores: 4, isolated: true, cap: null })).toEqual({ threads: 4, reason: '4 threads: every core (4 cores)' });
    expect(chooseWasmThreads({ cores: 16, isolated: true, cap: null })).toEqual({
      threads: MAX_WASM_THREADS,
      reason: `${MAX_WASM_THREADS} threads: 16 cores, and tfjs-wasm's threaded build runs at most ${MAX_WASM_THREADS}`,
    });
  });

  it('lowers to the cap the user set, never raises past the cores', () => {
    expect(chooseWasmThreads({ cores: 8, isolated: true, cap: 3 })).toEqual({ threads: 3, reason: '3 threads: capped by the thread setting (8 cores)' });
    expect(chooseWasmThreads({ cores: 8, isolated: true, cap: 1 })).toEqual({ threads: 1, reason: '1 thread: capped by the thread setting (8 cores)' });
    expect(chooseWasmThreads({ cores: 2, isolated: true, cap: 6 }).threads).toBe(2);
  });

  it('runs one thread where threads cannot share memory, or with one or an unknown number of cores', () => {
    expect(chooseWasmThreads({ cores: 8, isolated: false, cap: null })).toEqual({ threads: 1, reason: '1 thread: the page is not cross-origin isolated, so threads cannot share memory' });
    expect(chooseWasmThreads({ cores: 1, isolated: true, cap: null })).toEqual({ threads: 1, reason: '1 thread: this machine has 1 core' });
    expect(chooseWasmThreads({ cores: null, isolated: true, cap: null }).reason).toBe('1 thread: the number of cores is unknown');
  });
});

describe('parseThreadCap', () => {
  it('reads a whole number or auto, and refuses anything else', () => {
    expect(parseThreadCap('')).toBeNull();
    expect(parseThreadCap(' Auto ')).toBeNull();
    expect(parseThreadCap('3')).toBe(3);
    for (const bad of ['0', '-2', '1.5', 'many']) expect(() => parseThreadCap(bad), bad).toThrow(/whole number/);
  });
});
