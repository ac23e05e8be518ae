/**
 * Helpers for the playground e2e tests: a tiny OpenAI-compatible test server (a stand-in for the network:
 * deterministic replies chosen from the prompt, streamed as server-sent events), and raw IndexedDB reads.
 */
import { createServer, type Server } from 'node:http';
import { expect, type Locator, type Page } from '@playwright/test';
import { DB_NAME } from './helpers/app.ts';

export interface OpenAIDouble {
  url: string;
  requests: { messages: { role: string; content: string }[] }[];
  close(): Promise<void>;
}

/**
 * Replies for the default `open` templates: the draft and each refinement get better; the feedback finds
 * nothing to fix once the answer names the capital.
 */
function reply(messages: { role: string; content: string }[]): string {
  const user = messages[messages.length - 1]?.content ?? '';
  if (user.includes('Reply in exactly this format')) {
    if (user.includes('capital of France')) return 'Weaknesses:\n- none\nSuggestions:\n- none\nScore: 9/10\nVerdict: correct\nNO ISSUES';
    return 'Weaknesses:\n- It does not say what Paris is known for.\nSuggestions:\n- Say that it is the capital of France.\nScore: 5/10\nVerdict: incorrect';
  }
  const attempts = (user.match(/^Attempt \d+:/gm) ?? []).length;
  if (attempts === 0) return 'Paris is a city.';
  if (attempts === 1) return 'Paris is a big city in France.';
  return 'Paris is the capital of France.';
}

export async function startOpenAIDouble(chunkDelayMs = 15): Promise<OpenAIDouble> {
  const requests: OpenAIDouble['requests'] = [];
  const server: Server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/v1/models') {
      res.setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify({ data: [{ id: 'double-1' }] }));
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', async () => {
        const parsed = JSON.parse(body) as { messages: { role: string; content: string }[] };
        requests.push({ messages: parsed.messages });
        const text = reply(parsed.messages);
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        const pieces = text.match(/\s*\S+/g) ?? [];
        for (const p of pieces) {
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })}\n\n`);
          await new Promise((r) => setTimeout(r, chunkDelayMs));
        }
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 50, completion_tokens: pieces.length } })}\n\n`);
        res.end('data: [DONE]\n\n');
      });
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Every row of an object store, read with raw IndexedDB (independent of the app's code). */
export async function readRows<T = Record<string, unknown>>(page: Page, store: string): Promise<T[]> {
  return page.evaluate(
    ({ dbName, store }) =>
      new Promise<T[]>((resolve, reject) => {
        const open = indexedDB.open(dbName);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction(store, 'readonly').objectStore(store).getAll();
          req.onsuccess = () => {
            db.close();
            resolve(req.result as T[]);
          };
          req.onerror = () => reject(req.error);
        };
      }),
    { dbName: DB_NAME, store },
  );
}

/** Starts a loop step by step and lets one call through: returns the gate, now waiting before the feedback. */
export async function stepThroughToFeedback(page: Page): Promise<Locator> {
  await page.getByTestId('step-through').check();
  await page.getByTestId('run-loop').click();
  const gate = page.getByTestId('gate');
  await expect(gate).toHaveAttribute('data-kind', 'draft');
  await page.getByTestId('next-step').click();
  await expect(gate).toHaveAttribute('data-kind', 'feedback');
  return gate;
}
