/**
 * Method and path → handler, as one Koa middleware: a lookup in find-my-way's radix tree (the
 * router of Fastify) instead of @koa/router's walk over every route's regular expression, ~70 of
 * them for a one-frame GET: 46 → 31 kB allocated and ~17 % less server CPU per request under
 * `bench:rest` (docs/architecture.md, "Reading over REST").
 *
 * It answers as @koa/router did with its `allowedMethods()`, which it replaces: a path matches
 * with or without a trailing slash; a GET route answers HEAD too; a path
 * that exists for other methods gets 405 with `Allow` (OPTIONS: 200 with `Allow`); a method no
 * route uses gets 501; anything else falls through to the next middleware (the 404 of
 * `error-middleware.ts`). Static segments win over parameters (`/api/test-runs/compare` is not a
 * run id) whatever the order routes were added in. Unlike @koa/router, paths are case-sensitive
 * (RFC 3986, section 6.2.2.1): `/API/projects` matched there, only to be refused 401 by
 * authentication, which guards `/api/`; here it is a 404.
 *
 *   const table = routeTable()
 *   table.add('get', '/api/projects/:projectId', async (ctx, params) => { … })
 *   app.use(table.middleware())
 */
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type Koa from 'koa';

export type RouteMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';
export type RouteParams = Record<string, string | undefined>;
export type RouteHandler = (ctx: Koa.Context, params: RouteParams) => Promise<void>;

/** What @koa/router implemented: any other method is answered 501. */
const IMPLEMENTED = new Set(['HEAD', 'OPTIONS', 'GET', 'PUT', 'PATCH', 'POST', 'DELETE']);

/**
 * Parameters are checked by each route's schema (a 400 or 404 naming it), so the tree takes any
 * length: find-my-way's default of 100 characters would turn a long id into a bare 404.
 */
const MAX_PARAM_LENGTH = 64 * 1024;

export interface RouteTable {
  add(method: RouteMethod, path: string, handler: RouteHandler): void;
  middleware(): Koa.Middleware;
  /** Every method and path added, HEAD included, in the order they were added. */
  mounted(): Array<{ method: string; path: string }>;
}

export function routeTable(): RouteTable {
  const tree = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH });
  /** Methods in the order routes first used them, HEAD before GET, as `Allow` lists them. */
  const methods: HTTPMethod[] = [];
  const added: Array<{ method: string; path: string }> = [];
  const use = (method: HTTPMethod, path: string, handler: RouteHandler): void => {
    tree.on(method, path, handler as never);
    added.push({ method, path });
    if (!methods.includes(method)) methods.push(method);
  };
  const allowed = (path: string): string[] => methods.filter((m) => tree.find(m, path) !== null);

  return {
    add(method, path, handler) {
      if (method === 'get') use('HEAD', path, handler);
      use(method.toUpperCase() as HTTPMethod, path, handler);
    },
    mounted: () => added.map((route) => ({ ...route })),
    middleware() {
      return async (ctx, next) => {
        const method = ctx.method;
        const found = IMPLEMENTED.has(method) && method !== 'OPTIONS' ? tree.find(method as HTTPMethod, ctx.path) : null;
        if (found !== null) return (found.handler as unknown as RouteHandler)(ctx, found.params);
        await next();
        if (ctx.status !== 404 || ctx.body !== undefined) return;
        const allow = allowed(ctx.path);
        if (!IMPLEMENTED.has(method)) {
          ctx.status = 501;
          ctx.set('Allow', allow.join(', '));
        } else if (allow.length > 0) {
          ctx.set('Allow', allow.join(', '));
          if (method === 'OPTIONS') {
            ctx.status = 200;
            ctx.body = '';
          } else ctx.status = 405;
        }
      };
    },
  };
}
