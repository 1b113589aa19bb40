/**
 * The command line's HTTP client over the REST API (global fetch, Node ≥ 18): bearer token, JSON
 * in and out, error bodies turned into `ServerError`, network failures into `ConnectionError`.
 *
 * A CI job should not fail on a moment's unavailability, nor send a write twice. So a failure is
 * tried again (`retries` times, ANNOSYNC_RETRIES, after Retry-After or a growing pause) when the
 * request cannot have been carried out — no connection made, 429, 503 — whatever its method, and
 * when it may have been but doing it again changes nothing: a gateway's 502 or 504, or a connection
 * lost mid-request, for GET, HEAD, PUT and DELETE only (RFC 9110 §9.2.2, idempotent methods). A POST
 * that met a 502 is reported, not repeated: the server may have taken it.
 *
 *   const api = createApi({ url: 'http://127.0.0.1:1234', token })
 *   const run = await api.json<Run>('POST', '/api/projects/p/test-runs', { videoId, sessionId, model })
 *   const res = await api.request('GET', '/api/sessions/s/export?format=coco') // a Response, 2xx only
 */
import { ConnectionError, ServerError, type ServerErrorBody } from './errors.ts';

export interface ApiOptions {
  url: string;
  token: string;
  /** Attempts after the first for a transient failure (default 3). */
  retries?: number;
}

export const DEFAULT_RETRIES = 3;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** Answers that say the request was not carried out. */
const NOT_DONE = new Set([429, 503]);
/** A gateway's answers: the server behind it may or may not have had the request. */
const GATEWAY = new Set([502, 504]);
/** Network errors before any byte was sent (the server never saw the request). */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
const MAX_PAUSE_MS = 30_000;

/** Retry-After in seconds or as a date (RFC 9110 §10.2.3), capped; null without one. */
function retryAfterMs(res: Response): number | null {
  const value = res.headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isNaN(ms) ? null : Math.min(Math.max(0, ms), MAX_PAUSE_MS);
}

/** 0.5 s, 1 s, 2 s … (capped at 8 s), each with up to half taken off at random so jobs spread out. */
const backoffMs = (attempt: number): number => Math.min(500 * 2 ** attempt, 8_000) * (1 - Math.random() / 2);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RequestOptions {
  body?: BodyInit;
  contentType?: string;
  headers?: Record<string, string>;
  /** What the request was for, in error messages ("export session s1"). */
  what?: string;
  signal?: AbortSignal;
}

export interface Api {
  readonly url: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<Response>;
  json<T>(method: string, path: string, body?: unknown, what?: string): Promise<T>;
}

const causeOf = (err: unknown): string => {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
};

/** The `{ error }` body of a failed answer, or a stand-in when it is not one. */
export async function errorBody(res: Response): Promise<ServerErrorBody> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: ServerErrorBody };
    if (parsed.error && typeof parsed.error.code === 'string') return parsed.error;
  } catch {
    // not JSON: a proxy's page, say
  }
  return { code: 'http_error', message: text.slice(0, 200).replace(/\s+/g, ' ').trim() || res.statusText };
}

export function createApi(opts: ApiOptions): Api {
  const base = opts.url.replace(/\/+$/, '');
  const retries = opts.retries ?? DEFAULT_RETRIES;
  const request = async (method: string, path: string, r: RequestOptions = {}): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, ...r.headers };
    if (r.contentType) headers['content-type'] = r.contentType;
    const idempotent = IDEMPOTENT.has(method.toUpperCase());
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      let res: Response;
      try {
        res = await fetch(base + path, { method, headers, ...(r.body === undefined ? {} : { body: r.body }), ...(r.signal ? { signal: r.signal } : {}) });
      } catch (err) {
        const cause = causeOf(err);
        if (last || r.signal?.aborted || !(idempotent || NOT_SENT.has(cause))) throw new ConnectionError(base, cause);
        await pause(backoffMs(attempt));
        continue;
      }
      if (res.ok) return res;
      if (last || !(NOT_DONE.has(res.status) || (idempotent && GATEWAY.has(res.status)))) throw new ServerError(res.status, await errorBody(res), r.what ?? `${method} ${path}`);
      await res.body?.cancel().catch(() => undefined);
      await pause(retryAfterMs(res) ?? backoffMs(attempt));
    }
  };
  return {
    url: base,
    request,
    async json<T>(method: string, path: string, body?: unknown, what?: string): Promise<T> {
      const res = await request(method, path, {
        ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' }),
        ...(what ? { what } : {}),
      });
      return (await res.json()) as T;
    },
  };
}

/** Path segment encoding for ids and names. */
export const seg = (s: string): string => encodeURIComponent(s);
