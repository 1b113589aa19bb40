/**
 * A tiny JSON client over real HTTP (fetch) for the REST tests; with a token, every request
 * carries it as a bearer header.
 */
export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface JsonClient {
  request<T = unknown>(method: string, path: string, body?: unknown, init?: { headers?: Record<string, string>; raw?: string | Uint8Array }): Promise<HttpResult<T>>;
  get<T = unknown>(path: string): Promise<HttpResult<T>>;
  post<T = unknown>(path: string, body?: unknown): Promise<HttpResult<T>>;
  patch<T = unknown>(path: string, body?: unknown): Promise<HttpResult<T>>;
  delete<T = unknown>(path: string): Promise<HttpResult<T>>;
}

export function jsonClient(baseUrl: string, token?: string): JsonClient {
  const request = async <T>(method: string, path: string, body?: unknown, init: { headers?: Record<string, string>; raw?: string | Uint8Array } = {}): Promise<HttpResult<T>> => {
    const headers: Record<string, string> = {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    };
    const payload = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    let res: Response;
    try {
      res = await fetch(baseUrl + path, { method, headers, ...(payload === undefined ? {} : { body: payload as BodyInit }) });
    } catch (err) {
      // fetch says only "fetch failed"; what failed (a reset socket, a refused connection) is its cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`${method} ${path}: ${(err as Error).message}${cause ? ` (${[cause.code, cause.message].filter(Boolean).join(': ')})` : ''}`, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  };
  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    patch: (path, body) => request('PATCH', path, body),
    delete: (path) => request('DELETE', path),
  };
}

