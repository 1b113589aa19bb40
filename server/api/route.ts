/**
 * A REST route as data: method, path, the schemas of its params, query and body, who may call it,
 * its responses, and a thin handler. The router mounts these and `openapi.ts` documents the same
 * list, so every mounted route is documented with exactly the schemas that check it.
 *
 * A request goes: params (404) → query (400) → `authorize` (401/403, and 404 for the resource it
 * looks up) → body (413/415/400/422) → `handle`. Authorising before the body is read means a
 * caller without the role gets 403 whatever it sends: it cannot learn a schema from our 422s, nor
 * make us receive and parse a body up to the limit. What `authorize` returns (the session it had
 * to find to know the project) reaches `handle` as `authorized`, so it is not looked up twice.
 *
 *   export const patchTrack = defineRoute({
 *     method: 'patch', path: '/api/sessions/:sessionId/tracks/:trackId', tag: 'tracks', summary: 'Change a track',
 *     params: TrackParams, body: TrackPatch, responses: { 200: { description: 'the track', schema: Track } },
 *     errors: [404],
 *     authorize: sessionRole(deps, 'annotator'),
 *     handle: async ({ params, body, authorized: session }) => ({ body: await update(session, params.trackId, body) }),
 *   })
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../base/errors.ts';
import { issueDetails, readJson, type BodyLimits } from './body.ts';
import { setBody } from '../http/json-body.ts';
import { routeTable, type RouteMethod, type RouteParams, type RouteTable } from '../http/route-table.ts';

export type Method = RouteMethod;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What `authorize` sees: everything but the body, which is not read yet. */
export interface RequestInput<P, Q> {
  params: Out<P>;
  query: Out<Q>;
  ctx: Context;
}

export interface RouteInput<P, Q, B, A = undefined> extends RequestInput<P, Q> {
  body: Out<B>;
  /** What `authorize` returned. */
  authorized: A;
}

/**
 * A body the handler reads as it is (`readRaw(ctx, types)`) instead of JSON: a request whose content
 * type is one of `types` (a CSV), or any request whose query makes `when` hold (a MOT det.txt sent
 * as text/plain where JSON is the default).
 */
export interface RawBody<Q> {
  /** Content types taken as they are, with the largest body of each, bytes. */
  types: BodyLimits;
  when?(query: Q): boolean;
  /** For the OpenAPI entry. */
  description: string;
}

export interface RouteDef<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined, A> {
  method: Method;
  /** Koa style (`/api/projects/:projectId`); OpenAPI gets `{projectId}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  /** A JSON body parsed by this schema. */
  body?: B;
  /** Largest JSON body, bytes (default 1 MiB). */
  bodyLimitBytes?: number;
  /**
   * A body that is a file rather than JSON for some queries (a MOT det.txt where JSON detections
   * are the default): when `when(query)` holds, `body` is not read and the handler reads it raw.
   */
  rawBody?: RawBody<Out<Q>>;
  responses: Record<number, ResponseSpec>;
  /** Error statuses this route answers with the `Error` body (400, 413, 415, 422 are added for bodies). */
  errors?: number[];
  /**
   * Who may call: throws 401/403 (404 for a resource it must find to know its project). Runs
   * before any body is read, so a route with a `body`, or one whose handler reads a raw body, must
   * have it. See `access.ts` for the usual ones (`projectRole`, `sessionRole`, `adminOnly`).
   */
  authorize?(input: RequestInput<P, Q>): Promise<A> | A;
  handle(input: RouteInput<P, Q, B, A>): Promise<Reply> | Reply;
}

/** A route with its types erased, as the router and the OpenAPI generator see it. */
export interface Route {
  method: Method;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  bodyLimitBytes?: number;
  rawBody?: RawBody<never>;
  responses: Record<number, ResponseSpec>;
  errors: number[];
  /** `params`: the path's parameters, as the route table matched them. */
  run(ctx: Context, params: RouteParams): Promise<Reply>;
}

export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  A = undefined,
>(def: RouteDef<P, Q, B, A>): Route {
  // Checked when the route table is built, so a body route without a role check cannot be mounted.
  if (def.body && !def.authorize) throw new Error(`${def.method} ${def.path} reads a body: it needs authorize, which runs before the body is read`);
  const errors = new Set(def.errors ?? []);
  if (def.query) errors.add(400);
  if (def.body) for (const status of [400, 413, 415, 422]) errors.add(status);
  return {
    method: def.method,
    path: def.path,
    tag: def.tag,
    summary: def.summary,
    ...(def.description === undefined ? {} : { description: def.description }),
    ...(def.params ? { params: def.params } : {}),
    ...(def.query ? { query: def.query } : {}),
    ...(def.body ? { body: def.body } : {}),
    ...(def.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: def.bodyLimitBytes }),
    ...(def.rawBody ? { rawBody: def.rawBody as RawBody<never> } : {}),
    responses: def.responses,
    errors: [...errors].sort(),
    run: async (ctx, pathParams) => {
      const params = def.params ? parseParams(def.params, pathParams) : undefined;
      const query = def.query ? parseQuery(def.query, queryOf(ctx)) : undefined;
      const authorized = def.authorize ? await def.authorize({ params, query, ctx } as RequestInput<P, Q>) : (undefined as A);
      const raw =
        def.rawBody !== undefined &&
        ((def.rawBody.when?.(query as Out<Q>) ?? false) || Object.hasOwn(def.rawBody.types, ctx.request.type.toLowerCase()));
      const body = def.body && !raw ? await readJson(ctx, def.body, { ...(def.bodyLimitBytes ? { limitBytes: def.bodyLimitBytes } : {}) }) : undefined;
      // A literal, not `{ ...request, body, authorized }`: this closure's code is shared by every
      // route, and the spread was the largest line of our own in a one-frame GET's CPU profile.
      return def.handle({ params, query, ctx, body, authorized } as RouteInput<P, Q, B, A>);
    },
  };
}

/** `frame=12&limit=100`: letters-and-digits keys, unreserved-character values, each key once. */
const SIMPLE_QUERY = /^[A-Za-z][A-Za-z0-9]*=[A-Za-z0-9._~-]*(?:&[A-Za-z][A-Za-z0-9]*=[A-Za-z0-9._~-]*)*$/;

/**
 * `ctx.query`, with simple query strings split here: koa parses every one through
 * URLSearchParams and defineProperty, ~3 % of a one-frame GET's server CPU (bench:rest profile).
 * Such strings need no decoding, so the object is the one koa would build; anything else
 * (escapes, `+`, repeated or bare keys) still goes to koa.
 */
function queryOf(ctx: Context): Record<string, unknown> {
  const raw = ctx.querystring;
  if (raw === '' || !SIMPLE_QUERY.test(raw)) return ctx.query;
  const out: Record<string, string> = {};
  for (const pair of raw.split('&')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    if (Object.hasOwn(out, key)) return ctx.query;
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

/** A path id that cannot exist (wrong alphabet, too long) is simply not found. */
function parseParams<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new NotFoundError('no such resource');
  return result.data;
}

/** A query that does not parse is bad input (400), each problem naming its parameter. */
function parseQuery<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = issueDetails(result.error.issues);
  const first = details[0];
  throw new BadRequestError(
    `invalid query${first?.field ? ` parameter ${first.field}: ${first.message}` : first ? `: ${first.message}` : ''}`,
    details,
    'invalid_query',
  );
}

/** The routes in one table, each answering with its reply. */
export function mountRoutes(routes: readonly Route[]): RouteTable {
  const table = routeTable();
  for (const route of routes) {
    table.add(route.method, route.path, async (ctx, params) => {
      const reply = await route.run(ctx, params);
      if (reply.headers) ctx.set(reply.headers);
      ctx.status = reply.status ?? 200;
      if (reply.body !== undefined) setBody(ctx, reply.body);
    });
  }
  return table;
}

/** `/api/projects/:projectId` → `/api/projects/{projectId}`. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
