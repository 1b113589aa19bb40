/**
 * REST authentication: every `/api` route needs a valid bearer token, except the OpenAPI
 * document; `GET /health`, `/metrics` and `/docs` sit outside `/api`. The verified identity is put
 * on `ctx.state.identity` for the role checks of `server/api/access.ts`.
 *
 * Requests are also counted per verified token (or per address without one, or with one that does
 * not verify) in a fixed one-minute window:
 * past `requestsPerMinute`, 429 with Retry-After.
 */
import type { Middleware } from 'koa';
import { bearerToken, type Identity, type TokenService } from '../services/tokens.ts';
import { TooManyRequestsError, UnauthorizedError } from '../base/errors.ts';

const PUBLIC_API_PATHS = new Set(['/api/openapi.json']);
const WINDOW_MS = 60_000;

export function authMiddleware(deps: {
  tokens: TokenService;
  requestsPerMinute: number;
  onRefused?(reason: string): void;
}): Middleware {
  /** Requests seen per key in the current window; the whole map is dropped when the window turns. */
  let window = new Map<string, number>();
  let windowStart = Date.now();

  const count = (key: string) => {
    const now = Date.now();
    if (now - windowStart >= WINDOW_MS) {
      window = new Map();
      windowStart = now;
    }
    const seen = (window.get(key) ?? 0) + 1;
    window.set(key, seen);
    if (seen > deps.requestsPerMinute) {
      throw new TooManyRequestsError(`more than ${deps.requestsPerMinute} requests in a minute`, (windowStart + WINDOW_MS - now) / 1000);
    }
  };

  return async (ctx, next) => {
    if (!ctx.path.startsWith('/api/') || PUBLIC_API_PATHS.has(ctx.path)) return next();
    const token = bearerToken(ctx.get('Authorization') || undefined);
    if (!token) {
      count(`ip:${ctx.ip}`);
      deps.onRefused?.('missing');
      throw new UnauthorizedError('missing bearer token');
    }
    let identity: Identity;
    try {
      identity = await deps.tokens.verify(token);
    } catch (err) {
      // A token that does not verify counts against the address (found by test/security): counted
      // under its own string, a new bogus token per request escaped the limit entirely and grew
      // the window map by one entry per request.
      count(`ip:${ctx.ip}`);
      deps.onRefused?.('invalid');
      throw err;
    }
    count(token);
    ctx.state.identity = identity;
    ctx.state.principal = { id: identity.id, name: identity.name };
    return next();
  };
}
