/**
 * Instruments a worker before web-llm runs in it, to record what web-llm's loader asks for: every Cache API
 * read (scope, URL, hit or miss), every `cache.add` (a miss that downloads), every `fetch`, and the app
 * config it is given. Entries go to the page over the BroadcastChannel `webllm-log`. Nothing is changed:
 * each call goes on to the real Cache API, fetch and MLCEngine.
 */
import { MLCEngine, type AppConfig } from '@mlc-ai/web-llm';

export interface LogEntry {
  op: 'match' | 'add' | 'put' | 'keys' | 'fetch' | 'appConfig';
  scope: string | null;
  url: string;
  hit: boolean | null;
  detail?: unknown;
}

const channel = new BroadcastChannel('webllm-log');
const scopes = new WeakMap<Cache, string>();
const log = (e: LogEntry): void => channel.postMessage(e);
const urlOf = (r: RequestInfo | URL): string => (typeof r === 'string' ? new URL(r, self.location.href).href : r instanceof URL ? r.href : r.url);

const open = CacheStorage.prototype.open;
CacheStorage.prototype.open = async function (name: string): Promise<Cache> {
  const cache = await open.call(this, name);
  scopes.set(cache, name);
  return cache;
};
const match = Cache.prototype.match;
Cache.prototype.match = async function (request: RequestInfo | URL, options?: CacheQueryOptions) {
  const res = await match.call(this, request, options);
  log({ op: 'match', scope: scopes.get(this) ?? null, url: urlOf(request), hit: res !== undefined });
  return res;
};
const add = Cache.prototype.add;
Cache.prototype.add = async function (request: RequestInfo | URL) {
  log({ op: 'add', scope: scopes.get(this) ?? null, url: urlOf(request), hit: false });
  return add.call(this, request);
};
const keys = Cache.prototype.keys;
Cache.prototype.keys = async function (request?: RequestInfo | URL, options?: CacheQueryOptions) {
  const out = await keys.call(this, request, options);
  log({ op: 'keys', scope: scopes.get(this) ?? null, url: '', hit: null, detail: out.length });
  return out;
};
const fetchReal = self.fetch.bind(self);
self.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
  log({ op: 'fetch', scope: null, url: urlOf(input), hit: null });
  return fetchReal(input, init);
};
const setAppConfig = MLCEngine.prototype.setAppConfig;
MLCEngine.prototype.setAppConfig = function (config: AppConfig) {
  log({ op: 'appConfig', scope: null, url: '', hit: null, detail: JSON.parse(JSON.stringify(config)) });
  return setAppConfig.call(this, config);
};
