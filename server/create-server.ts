/**
 * `createServer(config)`: builds the whole process — database, update log, document registry,
 * HTTP app and sync endpoint — without listening. `listen()` binds; `close()` stops accepting,
 * flushes every pending write, closes sockets with 1001 and releases the database. Nothing here
 * runs at import.
 *
 *   const server = await createServer(makeConfig({ port: 0, dataDir: 'memory://' }))
 *   const { port } = await server.listen()
 *   …
 *   await server.close()
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { progressOf } from '../docs-model/index.ts';
import { openDatabase, isReachable, type Database } from '../persistence/database.ts';
import { createUpdateLog, type UpdateLog } from '../persistence/update-log.ts';
import { createDocStore, type DocStore } from '../persistence/doc-store.ts';
import { createMergePool } from '../persistence/merge-worker.ts';
import { createDashboardStatsRepository } from '../persistence/repositories/dashboard-stats.ts';
import { ABANDONED_UPLOAD_MS, createDetectionRepository } from '../persistence/repositories/detections.ts';
import { createTestRunRepository } from '../persistence/repositories/test-runs.ts';
import type { Logger } from '../shared/logger.ts';
import { commitIntervalFor, ConfigError, redisNeedsPostgres, type Config } from './config.ts';
import { createLogger } from './base/logger.ts';
import { addGauges, createMetrics, type Metrics } from './base/metrics.ts';
import { DocRegistry } from './documents/doc-registry.ts';
import { createProjection } from './followers/projection.ts';
import { createDashboards } from './followers/dashboards.ts';
import { createRunEvents } from './followers/test-run-events.ts';
import { createActivityLog } from './followers/activity-log.ts';
import { createHistory } from './followers/history.ts';
import { createHistoryRecorder } from './followers/history-recorder.ts';
import { createWebhookDispatcher, defaultDispatcherConfig } from './followers/webhook-dispatcher.ts';
import { createSecretBox } from '../persistence/secret-box.ts';
import { createRedisFanout, loadRedisClient, type RedisFanout } from './followers/redis-fanout.ts';
import { createUpdateKeys } from './documents/update-keys.ts';
import { createRepositories } from './services/repositories.ts';
import { createServices, type Services } from './services/services.ts';
import { createTokenService, resolveAuthSecret, type TokenService } from './services/tokens.ts';
import { createApi, type Api } from './api/index.ts';
import { SyncEndpoint, type Authorize } from './sync/sync-endpoint.ts';
import { createSyncAuthorizer } from './sync/sync-auth.ts';
import { authMiddleware } from './http/auth-middleware.ts';
import { corsMiddleware } from './http/cors.ts';
import { createApp } from './http/app.ts';

export interface ServerOptions {
  /** Replaces the logger built from `config.logLevel` (tests pass a silent one). */
  logger?: Logger;
  /** Who may open which document; the token and project roles when unset. */
  authorize?: Authorize;
  /** Runs between two steps of a large change (DocRegistry.transactInSteps); tests hold one open here. */
  betweenSteps?: () => Promise<void>;
}

export interface AnnosyncServer {
  readonly config: Config;
  readonly db: Database;
  readonly log: UpdateLog;
  readonly store: DocStore;
  readonly registry: DocRegistry;
  readonly sync: SyncEndpoint;
  readonly http: http.Server;
  readonly metrics: Metrics;
  readonly services: Services;
  readonly api: Api;
  /** Set when REDIS_URL is: this process shares its documents with the others. */
  readonly fanout: RedisFanout | null;
  readonly tokens: TokenService;
  /** True when no AUTH_SECRET was configured and the server made (or reused) one in DATA_DIR. */
  readonly generatedSecret: boolean;
  listen(): Promise<{ host: string; port: number; url: string }>;
  close(): Promise<void>;
}

export async function createServer(config: Config, options: ServerOptions = {}): Promise<AnnosyncServer> {
  if (config.redisUrl && !config.databaseUrl) throw new ConfigError(redisNeedsPostgres);
  // Before anything is opened: a broken client package fails the start with nothing to release.
  const redis = config.redisUrl ? { url: config.redisUrl, Redis: await loadRedisClient() } : null;
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    dataDir: config.dataDir === 'memory://' ? 'memory://' : path.join(config.dataDir, 'pglite'),
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
  });
  const metrics = createMetrics();
  const log = createUpdateLog({
    knex: db.knex,
    intervalMs: commitIntervalFor(config),
    // The embedded PGlite runs each row's INSERT in this process (persistence/log-rows.ts).
    mergeRows: db.kind === 'pglite',
    logger,
    onCommit: ({ rows, skipped, ms }) => {
      metrics.commitSeconds.observe(ms / 1000);
      metrics.commitBatchRows.observe(rows);
      if (skipped > 0) metrics.commitSkippedRows.inc(skipped);
    },
  });
  // Stored rows merge in a worker under a time budget (yjs#687); a row that cannot be merged in
  // time is set aside in yjs_quarantine instead of hanging loads and compaction. The worker merges
  // through a gc'd Y.Doc, so snapshots stay as small as the live document: see
  // persistence/merge-worker-thread.ts and docs/architecture.md, "Loading".
  const mergePool = createMergePool({ logger });
  const store = createDocStore({ knex: db.knex, logger, merge: mergePool.merge });

  // The documents, and the one event source every follower below subscribes to, in this order.
  // With Redis every row this process writes for its own changes carries a key, so that a process
  // storing one of them in its place (its notice lost, or this process dead) does not store it twice.
  const keys = config.redisUrl ? createUpdateKeys() : null;
  const registry = new DocRegistry({
    store,
    log,
    limits: config.limits,
    compactAfterRows: config.compactAfterRows,
    compactMinIntervalMs: config.compactMinIntervalMs,
    logger,
    keys,
    // A lone process holds everything there is: its stored state answers a cold document's joiners.
    answerFromStored: !config.redisUrl,
    mergeUpdates: mergePool.mergeUpdates,
    ...(options.betweenSteps ? { betweenSteps: options.betweenSteps } : {}),
  });
  registry.on('change', (doc, _update, origin) => {
    metrics.updatesIn.inc();
    const receivers = doc.peers.size - (origin.kind === 'connection' ? 1 : 0);
    if (receivers > 0) metrics.updatesOut.inc(receivers);
  });

  // Followers.
  const { secret, generated: generatedSecret } = resolveAuthSecret(
    config.authSecret,
    config.dataDir === 'memory://' ? null : config.dataDir,
  );
  const repos = createRepositories(db, createSecretBox(secret, 'webhook-secrets'));
  const runs = createTestRunRepository({ knex: db.knex });
  const detections = createDetectionRepository({ knex: db.knex });
  let sweeping: Promise<void> | undefined;
  const stats = createDashboardStatsRepository({ knex: db.knex });
  const projection = createProjection({ documents: registry, annotations: repos.annotations, sessions: repos.sessions, logger });
  const activity = createActivityLog({ events: repos.events, logger });
  const dashboards = createDashboards({
    registry,
    logger,
    activity,
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
      settle: () => projection.flush(),
    },
  });
  const runEvents = createRunEvents({ documents: registry });
  const recorder = createHistoryRecorder({ history: repos.history, logger });
  createHistory({ registry, recorder });
  const dispatcher = createWebhookDispatcher({
    deliveries: repos.deliveries,
    hooks: repos.webhooks,
    logger,
    config: { ...defaultDispatcherConfig, ...config.webhooks },
    soleProcess: db.kind === 'pglite',
    onAttempt: (result) => metrics.webhookAttempts.inc({ outcome: result.outcome }),
  });
  const fanout =
    redis && keys
      ? createRedisFanout({
          redisUrl: redis.url,
          Redis: redis.Redis,
          namespace: config.databaseSchema ?? 'public',
          registry,
          store,
          log,
          keys,
          storeAfterMs: config.redisStoreAfterMs,
          logger,
          onMessage: (direction) => metrics.redisMessages.inc({ direction }),
          onCatchUp: () => metrics.redisCatchUps.inc(),
          onStoredInPlace: () => metrics.redisStoredInPlace.inc(),
        })
      : null;

  // Services, then the two transports over them.
  const services = createServices({ config, logger, registry, repos, projection, dashboards, runEvents, runs, detections, dispatcher });
  const api = createApi(services);
  const tokens = createTokenService(secret);
  const sync = new SyncEndpoint({
    registry,
    limits: config.limits,
    logger,
    authorize:
      options.authorize ??
      createSyncAuthorizer({
        tokens,
        allowedOrigins: config.allowedOrigins,
        directory: services.directory,
        onRefused: (reason) => metrics.authRefused.inc({ reason }),
      }),
    onClose: (code) => metrics.closes.inc({ code: String(code) }),
  });
  addGauges(metrics, {
    connections: () => sync.connections.size,
    documents: () => registry.size,
    redisConnected: () => fanout?.connected() ?? null,
  });
  const app = createApp({
    logger,
    metrics,
    routes: api.middleware,
    middleware: [
      corsMiddleware(config.allowedOrigins),
      authMiddleware({
        tokens,
        requestsPerMinute: config.limits.requestsPerMinute,
        onRefused: (reason) => metrics.authRefused.inc({ reason }),
      }),
    ],
    health: async () => {
      const reachable = await isReachable(db);
      return {
        ok: reachable,
        database: { kind: db.kind, reachable },
        ...(fanout ? { redis: { connected: fanout.connected() } } : {}),
        documents: registry.size,
        connections: sync.connections.size,
      };
    },
  });
  const server = http.createServer(app.callback());
  server.on('upgrade', sync.handleUpgrade);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  let closing: Promise<void> | null = null;
  return {
    config,
    db,
    log,
    store,
    registry,
    sync,
    http: server,
    metrics,
    services,
    api,
    fanout,
    tokens,
    generatedSecret,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        // Node's default accept queue (511) overflowed when a thousand runner connections opened at
        // once (bench:test-runs): clients then retried for seconds.
        server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
          server.off('error', reject);
          // Deliveries left over from before (a restart, another process's retries) go out from now.
          dispatcher.start();
          // Detections of uploads a process left unfinished (it died mid-upload; readers skip them).
          // PGlite's directory has this process alone, so every one there is; on Postgres another
          // process may be writing one now.
          sweeping ??= detections.sweepAbandoned(config.databaseUrl ? ABANDONED_UPLOAD_MS : 0).then(
            (uploads) => {
              if (uploads > 0) logger.info({ uploads }, 'removed the detections of unfinished uploads');
            },
            (err: unknown) => logger.warn({ err }, 'could not remove the detections of unfinished uploads'),
          );
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ host: address.address, port: address.port, url: `http://${host}:${address.port}` });
        });
      }),
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Flush first, so the 1001 a client gets means "everything you sent is stored".
        await log.flush();
        sync.closeAll();
        await fanout?.close();
        try {
          await dispatcher.stop();
          await registry.close();
          dashboards.close();
          runEvents.close();
          await services.close();
          await projection.close();
          await recorder.close();
          await activity.close();
          await log.close();
        } finally {
          // Even when the database stayed down past the log's close timeout: release everything.
          server.closeAllConnections();
          await stopped;
          await mergePool.close(); // after registry.close(): its compactions merge through the pool
          await sweeping;
          await db.close();
        }
      })()),
  };
}
