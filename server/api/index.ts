/**
 * The REST API, ready for `createServer` to mount: its route table and its middleware over the services.
 * Nothing else lives here: what REST and the socket share is in `services/`, what follows document
 * changes in `followers/` (docs/architecture.md, "Layers").
 *
 *   const api = createApi(services)
 *   createApp({ …, routes: api.middleware })
 */
import type { Middleware } from 'koa';
import type { Services } from '../services/services.ts';
import { docsRoutes } from './openapi.ts';
import { mountRoutes, type Route } from './route.ts';
import { annotationRoutes } from './routes/annotations.ts';
import { dashboardRoutes } from './routes/dashboards.ts';
import { projectRoutes } from './routes/projects.ts';
import { projectVideoRoutes } from './routes/project-videos.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { testRunRoutes } from './routes/test-runs.ts';
import { trackRoutes } from './routes/tracks.ts';
import { formatRoutes } from './routes/formats.ts';
import { videoRoutes } from './routes/videos.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { historyRoutes } from './routes/history.ts';
import { releaseRoutes } from './routes/releases.ts';
import { runCompareRoutes } from './routes/run-compare.ts';

export const API_VERSION = '0.1.0';

export interface Api {
  /** Answers every route (route-table.ts); mounted after authentication. */
  middleware: Middleware;
  /** Every method and path the middleware answers (HEAD included). */
  mounted(): Array<{ method: string; path: string }>;
  /** Every route, documented ones included (tests compare it with the OpenAPI document). */
  routes: readonly Route[];
}

export function createApi(services: Services): Api {
  const resourceRoutes: Route[] = [
    ...projectRoutes(services),
    ...videoRoutes(services),
    ...projectVideoRoutes(services),
    ...sessionRoutes(services),
    ...annotationRoutes(services),
    ...trackRoutes(services),
    ...runCompareRoutes(services),
    ...testRunRoutes(services),
    ...dashboardRoutes(services),
    ...formatRoutes(services),
    ...webhookRoutes(services),
    ...historyRoutes(services),
    ...releaseRoutes(services),
  ];
  const routes = [...resourceRoutes, ...docsRoutes(() => resourceRoutes, API_VERSION)];
  const table = mountRoutes(routes);
  return { middleware: table.middleware(), mounted: () => table.mounted(), routes };
}
