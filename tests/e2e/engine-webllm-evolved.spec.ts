/**
 * An evolved model reloads with the real web-llm worker from the browser's cache alone. The page merges the
 * tiny-llama fixture's adapter into an MLC q0f32 export of it (our runtime, in Chromium), registers the
 * result in web-llm's cache scopes under a new id, an absolute URL of this origin and the record of the
 * catalog base SmolLM2-135M-Instruct-q0f32-MLC (its model_lib reused), then calls the real engine.reload
 * through our worker while every Cache API read, download and fetch the worker makes is logged.
 *
 * Stand-ins, said in the test name too: the tiny-llama files stand in for SmolLM2's merged weights, and an
 * empty WebAssembly module cached at the base's real model_lib URL stands in for its compiled library (none
 * can be compiled or downloaded here), so web-llm stops when it instantiates the library and the WebGPU
 * compute never runs. web-llm's own hasModelInCache then reads the weights' index from the cache.
 */
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { expect, test } from '@playwright/test';
import { ENGINES_HARNESS, HUB } from './helpers/servers.ts';

const BASE = 'SmolLM2-135M-Instruct-q0f32-MLC';

test('an evolved model reloads from web-llm\'s cache scopes without a request (placeholder model library; no WebGPU compute)', async ({ page }) => {
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${ENGINES_HARNESS}/`);
  await expect(page.locator('#status')).toHaveText('ready');
  const before = requests.length;
  const r = await page.evaluate((hub) => window.evolvedHarness.reloadEvolved(hub), HUB);
  const origin = new URL(ENGINES_HARNESS).origin;

  // Registered under an absolute URL of this origin, with every file of the merged model.
  expect(r.record.model).toBe(`${origin}/webllm-evolved/${r.record.webllmId}/resolve/main/`);
  expect(r.files.sort()).toEqual(['mlc-chat-config.json', 'params_shard_0.bin', 'tensor-cache.json', 'tokenizer.json', 'tokenizer_config.json']);
  expect(r.progress.at(-1)).toBe(r.record.bytes);

  // web-llm got the base's record, with the evolved id and folder and the base's library.
  const base = prebuiltAppConfig.model_list.find((m) => m.model_id === BASE)!;
  expect(r.baseLib).toBe(base.model_lib);
  const configs = r.reloadLog.filter((e) => e.op === 'appConfig');
  expect(configs.map((e) => e.detail)).toEqual([{ model_list: [{ ...base, model_id: r.record.webllmId, model: r.record.model, model_lib: base.model_lib }], cacheBackend: 'cache' }]);

  // While reloading: web-llm read the config and the library from the cache, and nothing missed it.
  const reads = r.reloadLog.filter((e) => e.op === 'match').map((e) => `${e.scope} ${e.url} ${e.hit ? 'hit' : 'MISS'}`);
  console.log(`web-llm reload, Cache API reads:\n${reads.join('\n')}\nerror: ${r.load?.message}`);
  // (web-llm's fetchWithCache looks each file up twice: once to decide whether to download, once to read.)
  expect([...new Set(reads)]).toEqual([`webllm/config ${r.record.model}mlc-chat-config.json hit`, `webllm/wasm ${base.model_lib} hit`]);
  expect(r.reloadLog.filter((e) => e.op === 'add' || e.op === 'fetch')).toEqual([]);
  // …then stopped where the placeholder library is instantiated, with a typed error.
  expect(r.load).toMatchObject({ code: 'engine', message: expect.stringContaining(`web-llm failed while loading ${r.record.webllmId}`) });

  // web-llm's own cache check finds the weights' index and every shard in the cache.
  expect(r.cached).toEqual([{ webllmId: r.record.webllmId, cached: true, entries: expect.any(Number) }]);
  const checks = r.cacheCheckLog.filter((e) => e.op === 'match').map((e) => `${e.scope} ${e.url} ${e.hit ? 'hit' : 'MISS'}`);
  expect(checks).toContain(`webllm/model ${r.record.model}tensor-cache.json hit`);
  expect(checks.every((c) => c.endsWith(' hit'))).toBe(true);
  expect(r.cacheCheckLog.filter((e) => e.op === 'add' || e.op === 'fetch')).toEqual([]);

  // No request left this machine, and none asked for the evolved model's files.
  const during = requests.slice(before);
  expect(during.filter((u) => !['localhost', '127.0.0.1'].includes(new URL(u).hostname))).toEqual([]);
  expect(during.filter((u) => u.includes('/webllm-evolved/'))).toEqual([]);
  expect(r.listedAfter).toContain(r.record.webllmId);
});
