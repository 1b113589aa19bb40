/**
 * The REST API of issue 3, ready for `createServer` to mount: its routers, the live-document hooks
 * that keep the `annotations` projection following the session documents, and `close()`.
 *
 *   const api = createApi({ db, registry, logger, config })
 *   new DocRegistry({ …, hooks: api.hooks }); createApp({ …, routers: api.routers })
 *   … await registry.close(); await api.close(); await db.close()
 *
 * The registry is built after the hooks exist, so `registry` may be handed over as a getter
 * (`createApi({ …, registry: () => registry })`).
 */
import type Router from '@koa/router';
import type { Config } from '../config.ts';
import type { DocName } from '../wire.ts';
import type { DocRegistry } from '../doc-registry.ts';
import type { Database } from '../../persistence/database.ts';
import type { Logger } from '../../persistence/logger.ts';
import { createRepositories, type ApiDeps } from './context.ts';
import { docsRoutes } from './openapi.ts';
import { createSessionCache } from './session-cache.ts';
import { createProjection, type Projection, type ProjectionHooks } from './projection.ts';
import { routerFor, type Route } from './route.ts';
import { annotationRoutes } from './routes/annotations.ts';
import { projectRoutes } from './routes/projects.ts';
import { projectVideoRoutes } from './routes/project-videos.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { trackRoutes } from './routes/tracks.ts';
import { formatRoutes } from './routes/formats.ts';
import { videoRoutes } from './routes/videos.ts';
import { createLiveFeatures } from './live-features.ts';

export const API_VERSION = '0.1.0';

export interface Api {
  routers: Router[];
  /** For the DocRegistry: `onChange` (and `onLoad`, once the registry calls it). */
  hooks: ProjectionHooks;
  /** Every route, documented ones included (tests compare it with the OpenAPI document). */
  routes: readonly Route[];
  projection: Projection;
  /** The project a document belongs to, or null when there is no such document (sync auth, 4404). */
  projectOf(docName: DocName): Promise<string | null>;
  /** Flushes the projection. Call after `registry.close()` and before `db.close()`. Idempotent. */
  close(): Promise<void>;
}

export interface CreateApiDeps {
  db: Database;
  registry: DocRegistry | (() => DocRegistry);
  logger: Logger;
  config: Config;
}

export function createApi(deps: CreateApiDeps): Api {
  const repos = createRepositories(deps.db);
  const projection = createProjection({ annotations: repos.annotations, sessions: repos.sessions, logger: deps.logger });
  const registryOf = typeof deps.registry === 'function' ? deps.registry : () => deps.registry as DocRegistry;
  const apiDeps: ApiDeps = {
    repos,
    sessionCache: createSessionCache(repos.sessions),
    get registry() {
      return registryOf();
    },
    projection,
    logger: deps.logger,
    config: deps.config,
  };
  const live = createLiveFeatures(apiDeps, deps.db);
  apiDeps.activity = (projectId, event) => live.dashboards.record(projectId, event);
  const resourceRoutes: Route[] = [
    ...projectRoutes(apiDeps),
    ...videoRoutes(apiDeps),
    ...projectVideoRoutes(apiDeps),
    ...sessionRoutes(apiDeps),
    ...annotationRoutes(apiDeps),
    ...trackRoutes(apiDeps),
    ...live.routes,
    ...formatRoutes(apiDeps),
  ];
  const routes = [...resourceRoutes, ...docsRoutes(() => resourceRoutes, API_VERSION)];
  return {
    routers: [routerFor(routes)],
    hooks: live.withHooks(projection.hooks),
    routes,
    projection,
    projectOf: async (docName) => {
      switch (docName.kind) {
        case 'session': {
          // Through the session cache, tolerating rows up to 30 s old: a crowd reconnecting must not
          // cost a query per socket, a session's project never changes, and an archive made by this
          // process updates the cache at once (one made by another process is seen within 30 s).
          const session = await apiDeps.sessionCache.get(docName.id, 30_000);
          return session && session.archivedAt === null ? session.projectId : null;
        }
        case 'dashboard':
          return (await repos.projects.get(docName.id)) ? docName.id : null;
        case 'test-run':
          return live.projectOfRun(docName.id);
      }
    },
    close: () => live.close().then(() => projection.close()),
  };
}
