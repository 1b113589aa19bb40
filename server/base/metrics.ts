/**
 * Prometheus metrics (`GET /metrics`). One registry per server instance, never prom-client's
 * global one, so several servers in one test process do not collide and nothing registers at import.
 */
import client from 'prom-client';

export interface Metrics {
  readonly registry: client.Registry;
  updatesIn: client.Counter;
  updatesOut: client.Counter;
  commitSeconds: client.Histogram;
  commitBatchRows: client.Histogram;
  closes: client.Counter<'code'>;
  authRefused: client.Counter<'reason'>;
  httpRequests: client.Counter<'method' | 'status'>;
  /** Redis fan-out messages, by direction (published, received). */
  redisMessages: client.Counter<'direction'>;
  redisCatchUps: client.Counter;
  /** Updates another process sent whose "stored" notice did not come in time: stored by this one. */
  redisStoredInPlace: client.Counter;
  /** Keyed updates the log did not write because their row was there already. */
  commitSkippedRows: client.Counter;
  /** Webhook delivery attempts, by outcome (delivered, retry, failed). */
  webhookAttempts: client.Counter<'outcome'>;
}

/** The counters and histograms; the gauges come with `addGauges` once what they read is built. */
export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'annosync_process_' });
  return {
    registry,
    redisMessages: new client.Counter({
      name: 'annosync_redis_messages_total',
      help: 'Fan-out messages published to and received from Redis',
      labelNames: ['direction'],
      registers: [registry],
    }),
    redisStoredInPlace: new client.Counter({
      name: 'annosync_redis_stored_in_place_total',
      help: 'Updates from another process stored here because its "stored" notice did not come in time',
      registers: [registry],
    }),
    commitSkippedRows: new client.Counter({
      name: 'annosync_commit_skipped_rows_total',
      help: 'Keyed updates not written by the update log because another process had stored them already',
      registers: [registry],
    }),
    redisCatchUps: new client.Counter({
      name: 'annosync_redis_catchups_total',
      help: 'Catch-ups after a Redis (re)connect: loaded documents read back and re-synced',
      registers: [registry],
    }),
    webhookAttempts: new client.Counter({
      name: 'annosync_webhook_attempts_total',
      help: 'Webhook delivery attempts, by outcome: delivered, retry (will be tried again), failed (given up)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    updatesIn: new client.Counter({
      name: 'annosync_updates_in_total',
      help: 'Document updates applied (from sockets, REST and Redis)',
      registers: [registry],
    }),
    updatesOut: new client.Counter({
      name: 'annosync_updates_out_total',
      help: 'Update messages sent to peers',
      registers: [registry],
    }),
    commitSeconds: new client.Histogram({
      name: 'annosync_commit_seconds',
      help: 'Duration of one group-commit INSERT of the update log',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    commitBatchRows: new client.Histogram({
      name: 'annosync_commit_batch_rows',
      help: 'Updates written by one group-commit INSERT',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000],
      registers: [registry],
    }),
    closes: new client.Counter({
      name: 'annosync_socket_closes_total',
      help: 'Sync sockets closed, by close code',
      labelNames: ['code'],
      registers: [registry],
    }),
    authRefused: new client.Counter({
      name: 'annosync_auth_refused_total',
      help: 'Requests and sockets refused by authentication or authorisation',
      labelNames: ['reason'],
      registers: [registry],
    }),
    httpRequests: new client.Counter({
      name: 'annosync_http_requests_total',
      help: 'HTTP requests answered, by method and status',
      labelNames: ['method', 'status'],
      registers: [registry],
    }),
  };
}

/**
 * The gauges, read on scrape from what they measure. Called once by `createServer` after the sync
 * endpoint is built, so nothing is read before it exists.
 */
export function addGauges(
  metrics: Metrics,
  gauges: { connections(): number; documents(): number; redisConnected?(): boolean | null },
): void {
  const registry = metrics.registry;
  new client.Gauge({
    name: 'annosync_connections',
    help: 'Open sync connections',
    registers: [registry],
    collect() {
      this.set(gauges.connections());
    },
  });
  new client.Gauge({
    name: 'annosync_documents_loaded',
    help: 'Documents held in memory',
    registers: [registry],
    collect() {
      this.set(gauges.documents());
    },
  });
  new client.Gauge({
    name: 'annosync_redis_connected',
    help: '1 while both Redis connections of the fan-out are up, 0 while not (absent without REDIS_URL)',
    registers: [registry],
    collect() {
      const connected = gauges.redisConnected?.() ?? null;
      if (connected === null) this.reset();
      else this.set(connected ? 1 : 0);
    },
  });
}
