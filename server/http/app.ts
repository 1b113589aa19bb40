/**
 * The Koa application: request ids, the one error mapper, and the routes. `app.callback()` is a
 * plain request handler, so tests of routes need no port; the server factory mounts it.
 */
import Koa from 'koa';
import { randomUUID } from 'node:crypto';
import { errorMiddleware } from './error-middleware.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../base/metrics.ts';
import { setBody } from './json-body.ts';
import { routeTable } from './route-table.ts';

export interface HealthReport {
  ok: boolean;
  database: { kind: string; reachable: boolean };
  documents: number;
  connections: number;
}

export interface AppDeps {
  logger: Logger;
  health(): Promise<HealthReport>;
  metrics: Metrics;
  /** The REST API's routes (route-table.ts), mounted last. */
  routes?: Koa.Middleware;
  /** Run before the API's routes, after the error mapper and /health, /metrics (CORS, authentication). */
  middleware?: Koa.Middleware[];
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  app.use(async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', String(ctx.state.requestId));
    await next();
  });
  // One pre-bound child per (method, status): `inc({ method, status })` hashes the label object
  // on every request. Bounded: Node accepts a fixed set of methods, and statuses are few.
  const requestCounters = new Map<string, { inc(): void }>();
  app.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      const key = `${ctx.method} ${ctx.status}`;
      let counter = requestCounters.get(key);
      if (!counter) requestCounters.set(key, (counter = deps.metrics.httpRequests.labels({ method: ctx.method, status: String(ctx.status) })));
      counter.inc();
    }
  });
  app.use(errorMiddleware(deps.logger));

  const root = routeTable();
  root.add('get', '/health', async (ctx) => {
    const report = await deps.health();
    ctx.status = report.ok ? 200 : 503;
    setBody(ctx, report);
  });
  root.add('get', '/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  app.use(root.middleware());
  for (const middleware of deps.middleware ?? []) app.use(middleware);
  if (deps.routes) app.use(deps.routes);
  return app;
}
