/**
 * Issue 6 as one unit for `createApi`: test runs (their repositories, service, events and routes),
 * project dashboards and session participants, with the registry hooks they need.
 *
 *   const live = createLiveFeatures(apiDeps, db)
 *   routes: [...live.routes], hooks: live.withHooks(projection.hooks)
 *   projectOf 'test-run:<id>' → live.projectOfRun(id); close: live.close()
 */
import type { Database } from '../../persistence/database.ts';
import { createDashboardStatsRepository } from '../../persistence/repositories/dashboard-stats.ts';
import { createDetectionRepository } from '../../persistence/repositories/detections.ts';
import { createTestRunRepository } from '../../persistence/repositories/test-runs.ts';
import { progressOf } from '../../docs-model/index.ts';
import { createDashboards, type Dashboards } from '../dashboards.ts';
import { composeHooks } from '../live-document.ts';
import type { ApiDeps } from './context.ts';
import type { ProjectionHooks } from './projection.ts';
import type { Route } from './route.ts';
import { dashboardRoutes } from './routes/dashboards.ts';
import { testRunRoutes } from './routes/test-runs.ts';
import { createRunEvents, type RunEvents } from './test-run-events.ts';
import { createTestRunService, type TestRunService } from './test-run-service.ts';

export interface LiveFeatures {
  routes: Route[];
  service: TestRunService;
  events: RunEvents;
  dashboards: Dashboards;
  /** The projection's hooks with ours after them. */
  withHooks(projection: ProjectionHooks): ProjectionHooks;
  projectOfRun(runId: string): Promise<string | null>;
  close(): Promise<void>;
}

export function createLiveFeatures(api: ApiDeps, db: Database): LiveFeatures {
  const runs = createTestRunRepository({ knex: db.knex });
  const detections = createDetectionRepository({ knex: db.knex });
  const stats = createDashboardStatsRepository({ knex: db.knex });
  const events = createRunEvents();
  const dashboards = createDashboards({
    registry: () => api.registry,
    logger: api.logger,
    sources: {
      sessionsByStatus: (id) => stats.sessionsByStatus(id),
      annotationsByLabel: (id) => stats.annotationsByLabel(id),
      videosByGroundTruthStatus: (id) => stats.videosByGroundTruthStatus(id),
      runningRuns: async (id) =>
        (await runs.listActive(id)).map((r) => ({
          id: r.id,
          sessionId: r.sessionId,
          videoId: r.videoId,
          model: r.model,
          status: r.status,
          processedFrames: r.processedFrames,
          totalFrames: r.totalFrames,
          progress: progressOf(r.processedFrames, r.totalFrames),
        })),
      settle: () => api.projection.flush(),
    },
  });
  const service = createTestRunService({ api, runs, detections, dashboards });
  let closing: Promise<void> | null = null;
  return {
    routes: [...testRunRoutes(api, service, events), ...dashboardRoutes(api, dashboards)],
    service,
    events,
    dashboards,
    withHooks: (projection) => {
      const ours = composeHooks(dashboards.hooks, {
        onLoad: (doc) => events.loaded(doc),
        onChange: (doc) => events.observe(doc),
        onUnload: (doc) => events.unloaded(doc),
      });
      const all = composeHooks(projection, ours);
      return { ...all, onLoad: (doc) => all.onLoad?.(doc) };
    },
    projectOfRun: (runId) => service.projectOf(runId),
    close: () =>
      (closing ??= (async () => {
        dashboards.close();
        events.close();
        await service.flushAll();
      })()),
  };
}
