/**
 * llama.cpp in WebAssembly for Chromium: @wllama/wllama at a pinned version (2.3.7, the last line with the
 * low-level decode / samplingSample API that the peer benchmark times step by step). Never a project
 * dependency: installed on first use into the peers' cache folder (llama-peer.ts), about 12 MB.
 */
import { join } from 'node:path';
import { ensureCachedInstall, peerCacheRoot, type EnsureOptions } from './llama-peer.ts';

export const WLLAMA_PEER_VERSION = '2.3.7';

/** The folder of wllama's ES module build (index.js, single-thread/ and multi-thread/ wllama.wasm), installed on first use. */
export async function ensureWllamaPeer(options: EnsureOptions = {}): Promise<string> {
  const dir = await ensureCachedInstall(join(peerCacheRoot(), `wllama-${WLLAMA_PEER_VERSION}`), [`@wllama/wllama@${WLLAMA_PEER_VERSION}`], `@wllama/wllama ${WLLAMA_PEER_VERSION}`, options);
  return join(dir, 'node_modules/@wllama/wllama/esm');
}
