/**
 * What REST and the socket share, built once over the followers: the repositories, the session
 * cache, the test runs, the document directory, and the followers the routes read from. Routes
 * get this object; socket auth gets its `directory`.
 *
 *   const services = createServices({ config, logger, registry, repos, projection, dashboards, runEvents, runs, detections })
 *   await findSession(services, id); await services.directory.projectOf(docName)
 *   … await registry.close(); await services.close()
 */
import type { DetectionRepository } from '../../persistence/repositories/detections.ts';
import type { TestRunRepository } from '../../persistence/repositories/test-runs.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Config } from '../config.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { Dashboards } from '../followers/dashboards.ts';
import type { Projection } from '../followers/projection.ts';
import type { RunEvents } from '../followers/test-run-events.ts';
import { createDocumentDirectory, type DocumentDirectory } from './document-directory.ts';
import type { Repositories } from './repositories.ts';
import { createSessionCache, type SessionCache } from './session-cache.ts';
import { createTestRunService, type TestRunService } from './test-runs/test-run-service.ts';
import { createGroundTruthWorker } from './ground-truth-worker.ts';
import { promoteRun, type PromoteRequest } from './test-runs/promotion.ts';
import type { TestRunRecord } from '../../persistence/repositories/test-runs.ts';
import { createEventSink, type EventSink } from './event-sink.ts';
import { createWebhookService, type WebhookService } from './webhooks.ts';
import type { WebhookDispatcher } from '../followers/webhook-dispatcher.ts';
import { createReleaseService, type ReleaseService } from './releases.ts';
import { createImportParser, type ImportParser } from './import-parser.ts';

export interface Services {
  repos: Repositories;
  sessionCache: SessionCache;
  registry: DocRegistry;
  projection: Projection;
  dashboards: Dashboards;
  runEvents: RunEvents;
  testRuns: TestRunService;
  directory: DocumentDirectory;
  logger: Logger;
  config: Config;
  /** Where what happened is stored: webhooks and the activity list read it. */
  events: EventSink;
  webhooks: WebhookService;
  /** Ground-truth releases: freeze, list, export content, diff. */
  releases: ReleaseService;
  /** Uploaded files unzipped, parsed and checked in a worker thread, off the event loop. */
  importParser: ImportParser;
  /** A run's detections as draft pre-labels in its session (promotion.ts). */
  promote(run: TestRunRecord, request: PromoteRequest, actor: string): ReturnType<typeof promoteRun>;
}

export interface ServicesDeps {
  config: Config;
  logger: Logger;
  registry: DocRegistry;
  repos: Repositories;
  projection: Projection;
  dashboards: Dashboards;
  runEvents: RunEvents;
  runs: TestRunRepository;
  detections: DetectionRepository;
  dispatcher: WebhookDispatcher;
}

export function createServices(deps: ServicesDeps): Services & { close(): Promise<void> } {
  const sessionCache = createSessionCache(deps.repos.sessions);
  const events = createEventSink({ events: deps.repos.events, onStored: () => deps.dispatcher.poke() });
  const groundTruth = createGroundTruthWorker({ logger: deps.logger });
  const releases = createReleaseService({ releases: deps.repos.releases, sessions: deps.repos.sessions, registry: deps.registry, projection: deps.projection, sink: events, worker: groundTruth });
  const testRuns = createTestRunService({
    sink: events,
    releases,
    scorer: groundTruth,
    context: { repos: deps.repos, sessionCache, registry: deps.registry, projection: deps.projection, logger: deps.logger },
    runs: deps.runs,
    detections: deps.detections,
    dashboards: deps.dashboards,
  });
  const importParser = createImportParser({ logger: deps.logger });
  const promotion = { repos: deps.repos, sessionCache, detections: deps.detections, registry: deps.registry, dashboards: deps.dashboards };
  return {
    promote: (run, request, actor) => promoteRun(promotion, run, request, actor),
    repos: deps.repos,
    sessionCache,
    registry: deps.registry,
    projection: deps.projection,
    dashboards: deps.dashboards,
    runEvents: deps.runEvents,
    testRuns,
    directory: createDocumentDirectory({ sessionCache, projects: deps.repos.projects, testRuns }),
    logger: deps.logger,
    config: deps.config,
    events,
    releases,
    webhooks: createWebhookService({
      hooks: deps.repos.webhooks,
      deliveries: deps.repos.deliveries,
      config: deps.config.webhooks,
      onQueued: () => deps.dispatcher.poke(),
    }),
    importParser,
    /** Writes every run's pending progress (after the registry closed, before the database does); stops the parse and ground-truth threads. */
    close: async () => {
      await importParser.close();
      await groundTruth.close();
      await testRuns.flushAll();
    },
  };
}
