/**
 * HTTP and network failures of an OpenAI-compatible endpoint as AppErrors that say what to check. Server
 * text is untrusted: it is shortened, stripped of control characters and only ever shown as text. The API key
 * never appears in a message.
 */
import { AppError } from '../../errors.ts';
import { blockedPort } from './blocked-ports.ts';

const MAX_DETAIL = 300;

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > MAX_DETAIL ? `${t.slice(0, MAX_DETAIL)}…` : t;
}

/** A property of a parsed JSON value, or undefined. */
export function field(x: unknown, key: string): unknown {
  return typeof x === 'object' && x !== null ? Reflect.get(x, key) : undefined;
}

/** The server's own explanation from an error body: `{error: {message}}`, `{error: "…"}`, `{message}`, `{detail}` or text. */
export function serverDetail(body: string): string {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    return clean(body);
  }
  const err = field(j, 'error');
  for (const candidate of [err, field(err, 'message'), field(j, 'message'), field(j, 'detail')]) {
    if (typeof candidate === 'string') return clean(candidate);
  }
  return clean(body);
}

export function httpError(status: number, body: string, url: string, model: string | null): AppError {
  const detail = serverDetail(body);
  const said = detail ? ` The server said: "${detail}"` : '';
  if (status === 401 || status === 403) {
    return new AppError(
      'bad-input',
      `The endpoint rejected the API key (HTTP ${status}). Check the key in the critic settings.${said}`,
    );
  }
  if (status === 404) {
    return new AppError(
      'not-found',
      `No such model or route at ${url} (HTTP 404). Check the base URL (it usually ends in /v1) and the ` +
        `model name${model ? ` "${model}"` : ''}.${said}`,
    );
  }
  if (status === 429) {
    return new AppError('engine', `The endpoint is rate-limiting requests (HTTP 429). Wait a moment and try again.${said}`);
  }
  if (status >= 400 && status < 500) {
    return new AppError('bad-input', `The endpoint refused the request (HTTP ${status}).${said}`);
  }
  return new AppError(
    'engine',
    `The endpoint failed (HTTP ${status}). Try again later, or check the server's log.${said}`,
  );
}

export function unreachableError(url: string, cause: unknown): AppError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const port = blockedPort(url);
  if (port !== null) {
    return new AppError(
      'network',
      `The browser blocks connections to port ${port} (Chromium: ERR_UNSAFE_PORT), so the request to ${url} never left this page; ` +
        `the server and its CORS settings are not at fault. Serve the endpoint on another port (8000 or 8080, for example) and change the base URL.`,
      { cause },
    );
  }
  return new AppError(
    'network',
    `Could not reach ${url}: is the server running and does it allow this origin (CORS)? (${clean(detail)})`,
    { cause },
  );
}
