/**
 * The command line's HTTP client over the REST API (global fetch, Node ≥ 18): bearer token, JSON
 * in and out, error bodies turned into `ServerError`, network failures into `ConnectionError`.
 *
 *   const api = createApi({ url: 'http://127.0.0.1:1234', token })
 *   const run = await api.json<Run>('POST', '/api/projects/p/test-runs', { videoId, sessionId, model })
 *   const res = await api.request('GET', '/api/sessions/s/export?format=coco') // a Response, 2xx only
 */
import { ConnectionError, ServerError, type ServerErrorBody } from './errors.ts';

export interface ApiOptions {
  url: string;
  token: string;
}

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
  const request = async (method: string, path: string, r: RequestOptions = {}): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, ...r.headers };
    if (r.contentType) headers['content-type'] = r.contentType;
    let res: Response;
    try {
      res = await fetch(base + path, { method, headers, ...(r.body === undefined ? {} : { body: r.body }), ...(r.signal ? { signal: r.signal } : {}) });
    } catch (err) {
      throw new ConnectionError(base, causeOf(err));
    }
    if (!res.ok) throw new ServerError(res.status, await errorBody(res), r.what ?? `${method} ${path}`);
    return res;
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
