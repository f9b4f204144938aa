/**
 * One HTTP exchange of a WHIP/WHEP client, with what RFC 9725 asks of it: `307`/`308` redirects followed
 * (method, body and token kept; at most a few hops; never from https down to http with a token), a bound on
 * the wait and on the body read, and every failure a {@link SignalError} that names the method, the URL, the
 * status and the server's own text, with what to do. Node's `fetch` (undici) underneath; portable to browsers.
 */
import { SignalError } from '../../errors.js';
import { retryAfterMs } from './retry-after.js';

/** A request of the exchange. */
export interface ExchangeRequest {
  method: 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS';
  url: string;
  /** Extra headers (content type, If-Match). The token goes in `token`. */
  headers?: Record<string, string>;
  body?: string;
  /** Bearer token, sent as `Authorization: Bearer TOKEN`. */
  token?: string;
  /** Bound on the whole exchange, redirects included, ms. */
  timeoutMs: number;
  /** Largest response body read, in bytes; a larger one fails with TOO_LARGE. */
  maxBodyBytes: number;
  /** Ends the exchange early (the client is closing). */
  signal?: AbortSignal;
}

/** What came back. */
export interface ExchangeResponse {
  status: number;
  headers: Headers;
  /** The body, as text (bounded). */
  body: string;
  /** The URL that answered (after redirects). */
  url: string;
}

/** Redirect hops followed before giving up. */
const MAX_REDIRECTS = 5;

/**
 * Sends one request and reads the whole response. Resolves with any status (the caller decides what it
 * means: see {@link statusError}); rejects with SignalError `UNREACHABLE` (no connection), `TIMEOUT` (no
 * complete response in `timeoutMs`), `TOO_LARGE`, `REDIRECT` (a loop, a non-307/308 redirect, a downgrade)
 * or `CLOSED` (aborted by `signal`).
 */
export async function exchange(request: ExchangeRequest): Promise<ExchangeResponse> {
  const { method, timeoutMs } = request;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let url = request.url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { ...request.headers };
    if (request.token !== undefined) headers['authorization'] = `Bearer ${request.token}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: request.body, redirect: 'manual', signal });
    } catch (error) {
      throw failure(request, url, error, timeout);
    }
    if (response.status === 307 || response.status === 308) {
      const location = response.headers.get('location');
      await response.body?.cancel().catch(() => undefined);
      if (location === null)
        throw new SignalError(
          'REDIRECT',
          `${method} ${url}: ${response.status} without a Location header`,
          url,
        );
      const next = new URL(location, url);
      if (hop + 1 > MAX_REDIRECTS)
        throw new SignalError(
          'REDIRECT',
          `${method} ${request.url}: more than ${MAX_REDIRECTS} redirects`,
          url,
        );
      if (request.token !== undefined && new URL(url).protocol === 'https:' && next.protocol === 'http:')
        throw new SignalError(
          'REDIRECT',
          `${method} ${url} redirects to ${next.href}, from https to plain http: refused, the token would travel in clear`,
          url,
        );
      url = next.href;
      continue;
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new SignalError(
        'REDIRECT',
        `${method} ${url}: redirected with ${response.status} (${response.headers.get('location') ?? 'no Location'}); ` +
          'a WHIP/WHEP server redirects with 307 (RFC 9725): use the final URL',
        url,
        { status: response.status },
      );
    }
    let body: string;
    try {
      body = await readBounded(response, request.maxBodyBytes);
    } catch (error) {
      if (error instanceof SignalError)
        throw new SignalError(error.code, `${method} ${url}: ${error.message}`, url);
      throw failure(request, url, error, timeout);
    }
    return { status: response.status, headers: response.headers, body, url };
  }
}

async function readBounded(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new SignalError('TOO_LARGE', `the response body is ${declared} bytes, over the limit of ${max}`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new SignalError('TOO_LARGE', `the response body is over the limit of ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function failure(request: ExchangeRequest, url: string, error: unknown, timeout: AbortSignal): SignalError {
  const { method } = request;
  if (request.signal?.aborted)
    return new SignalError('CLOSED', `${method} ${url}: aborted, the client closed`, url);
  if (timeout.aborted)
    return new SignalError(
      'TIMEOUT',
      `${method} ${url}: no complete response within ${request.timeoutMs} ms; is the server overloaded, or is this not a WHIP/WHEP server?`,
      url,
      { cause: error },
    );
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return new SignalError(
    'UNREACHABLE',
    `${method} ${url}: cannot connect (${why}); is the server running?`,
    url,
    {
      cause: error,
    },
  );
}

/** The server's text of a response, for a message: one line, bounded. */
export function serverText(response: ExchangeResponse): string {
  const text = response.body.replace(/\s+/g, ' ').trim();
  return text === '' ? '' : `: ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
}

/** Statuses worth trying again after a while: the server is busy or briefly broken. */
export function isTransient(status: number): boolean {
  return (
    status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504
  );
}

/**
 * The error for an unexpected status, naming what was done, the URL, the status and the server's text, with a
 * hint for the usual causes: a missing or wrong token (401, 403), a wrong URL (404), a busy server (503, with
 * its `Retry-After` in `retryAfterMs`).
 */
export function statusError(
  what: string,
  response: ExchangeResponse,
): SignalError & { retryAfterMs?: number } {
  const { status, url } = response;
  const said = `${what} ${url} answered ${status}${statusName(status)}${serverText(response)}`;
  let code: string;
  let hint = '';
  switch (status) {
    case 401:
      code = 'UNAUTHORIZED';
      hint = '; the server wants a token: pass --token (or set RTC_PEER_TOKEN) with the one it gave you';
      break;
    case 403:
      code = 'FORBIDDEN';
      hint = '; the token is not allowed here: check --token and the URL';
      break;
    case 404:
      code = 'NOT_FOUND';
      hint =
        '; nothing is served at this URL: check it (e.g. http://HOST:8889/NAME/whip for MediaMTX, ' +
        'http://HOST:8080/whip/ROOM for rtc-peer signal)';
      break;
    case 409:
      code = 'CONFLICT';
      break;
    case 413:
      code = 'TOO_LARGE';
      break;
    case 415:
      code = 'UNSUPPORTED_MEDIA_TYPE';
      break;
    default:
      code = isTransient(status) ? 'BUSY' : status >= 500 ? 'SERVER_ERROR' : 'HTTP_ERROR';
  }
  const error = new SignalError(code, said + hint, url, { status }) as SignalError & {
    retryAfterMs?: number;
  };
  const retry = retryAfterMs(response.headers.get('retry-after'));
  if (retry !== undefined) error.retryAfterMs = retry;
  return error;
}

function statusName(status: number): string {
  const names: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    412: 'Precondition Failed',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Content',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    501: 'Not Implemented',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  const name = names[status];
  return name === undefined ? '' : ` ${name}`;
}
