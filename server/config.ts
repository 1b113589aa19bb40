/**
 * Configuration: read from the environment once, at start, and checked; a bad value stops the
 * process with a message naming the variable. Tests build a Config with `makeConfig({ … })`.
 */
import { z } from 'zod';

export interface Limits {
  /** Largest WebSocket frame accepted (ws `maxPayload`); past it the socket closes with 1009. */
  maxMessageBytes: number;
  /** Largest decoded Yjs update inside a message (1009). */
  maxUpdateBytes: number;
  /** Largest awareness state of one client, as JSON (1008). */
  maxAwarenessBytes: number;
  /**
   * Deepest nesting of an awareness state (1008). The reference server dies on a deeply nested
   * state when a new client joins (JSON.stringify recursion); we refuse it on arrival.
   */
  maxAwarenessDepth: number;
  /** Sustained messages per second per connection (token bucket refill; 1008 past it). */
  messagesPerSecond: number;
  /** Token bucket size: how many messages a connection may send in a burst. */
  messageBurst: number;
  /** Documents held in memory; idle ones are unloaded first, then new loads are refused (1013). */
  maxDocuments: number;
  /** Connections on one document (1013 past it). */
  maxConnectionsPerDocument: number;
  /** Sync connections of one user (token subject) across documents (1013 past it). */
  maxConnectionsPerUser: number;
  /** REST requests per token (or per address without one) per minute (429 with Retry-After). */
  requestsPerMinute: number;
  /** How long a document with no connections stays in memory after its last write committed. */
  idleUnloadMs: number;
  /**
   * How long a client's presence outlives a connection that went without removing it: one back
   * within it with the same state is never seen to leave (server/documents/doc-awareness.ts).
   */
  presenceGraceMs: number;
}

export interface Config {
  port: number;
  host: string;
  /** postgres://… uses Postgres; unset uses embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Where PGlite (and the generated auth secret) live. */
  dataDir: string;
  /** Postgres schema (search_path); tests use one per suite. */
  databaseSchema: string | undefined;
  redisUrl: string | undefined;
  /**
   * With Redis: how long a process waits for the "stored" notice of an update another process sent
   * before storing it itself (docs/architecture.md, "More than one process").
   */
  redisStoreAfterMs: number;
  /** HS256 secret of the bearer tokens; unset: made on first start and kept in `dataDir`. */
  authSecret: string | undefined;
  /** Browser origins allowed by CORS and on the socket upgrade; empty: any origin (tokens still apply). */
  allowedOrigins: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Group-commit interval of the update log (docs/architecture.md, "Durability"); unset: by the
   * database, `commitIntervalFor`.
   */
  commitIntervalMs: number | undefined;
  /** Compact a document's log into its snapshot once it has this many rows. */
  compactAfterRows: number;
  /** A loaded document compacts at most once per this long (its unload always compacts). */
  compactMinIntervalMs: number;
  limits: Limits;
  webhooks: WebhookConfig;
}

/** Webhook delivery (docs/webhooks.md). */
export interface WebhookConfig {
  /** First retry after about this long; each later one waits twice as long. */
  retryBaseMs: number;
  /** The longest wait between two attempts. */
  retryMaxMs: number;
  /** Allow receivers on loopback, link-local and private addresses (tests, one-machine setups). */
  allowPrivate: boolean;
}

export const defaultWebhookConfig: WebhookConfig = { retryBaseMs: 1000, retryMaxMs: 600_000, allowPrivate: false };

export const defaultLimits: Limits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxUpdateBytes: 8 * 1024 * 1024,
  maxAwarenessBytes: 32 * 1024,
  maxAwarenessDepth: 32,
  messagesPerSecond: 200,
  messageBurst: 1000,
  maxDocuments: 10_000,
  maxConnectionsPerDocument: 500,
  maxConnectionsPerUser: 100,
  // 500 requests/s per token: a model runner posts progress at 200/s and still has room.
  requestsPerMinute: 30_000,
  idleUnloadMs: 30_000,
  // A stock y-websocket client retries 100 ms after its socket closes, then backs off (100 · 2ⁿ ms).
  presenceGraceMs: 1_000,
};

export const defaultConfig: Config = {
  port: 1234,
  host: '127.0.0.1',
  databaseUrl: undefined,
  dataDir: './data',
  databaseSchema: undefined,
  redisUrl: undefined,
  redisStoreAfterMs: 5_000,
  authSecret: undefined,
  allowedOrigins: [],
  logLevel: 'info',
  commitIntervalMs: undefined,
  compactAfterRows: 500,
  compactMinIntervalMs: 10_000,
  limits: defaultLimits,
  webhooks: defaultWebhookConfig,
};

export type ConfigOverrides = Partial<Omit<Config, 'limits' | 'webhooks'>> & {
  limits?: Partial<Limits>;
  webhooks?: Partial<WebhookConfig>;
};

/**
 * The update log's commit interval when none is set. A commit on the embedded PGlite runs in this
 * process (PGlite's thread, ~1-1.5 ms of CPU for a batch of a fan-out's updates, with the event loop
 * busy on the other core), one on Postgres mostly in Postgres's: on PGlite the log waits 40 ms for
 * company instead of 20. Fan-out to 10 clients on PGlite (`bench/fanout-pair.ts`, 8 alternated
 * repetitions): server CPU per delivery 11.85 µs at 20 ms, 10.74 at 40, 10.37 at 60 (the reference
 * 10.00); again, 14 repetitions: 11.11 at 20, 10.37 at 40 (a run of 4: 106 commits instead of
 * 187). What waits is socket traffic, whose durable acks come up to 40 ms after an update instead
 * of 20; a REST write's update commits within 5 ms (persistence/update-log.ts, `awaited`).
 */
export const COMMIT_INTERVAL_MS = { postgres: 20, pglite: 40 } as const;

export function commitIntervalFor(config: Pick<Config, 'commitIntervalMs' | 'databaseUrl'>): number {
  return config.commitIntervalMs ?? (config.databaseUrl === undefined ? COMMIT_INTERVAL_MS.pglite : COMMIT_INTERVAL_MS.postgres);
}

export function makeConfig(overrides: ConfigOverrides = {}): Config {
  return {
    ...defaultConfig,
    ...overrides,
    limits: { ...defaultLimits, ...overrides.limits },
    webhooks: { ...defaultWebhookConfig, ...overrides.webhooks },
  };
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Environment variable → config path. One table, also rendered in README.md. */
const envSchema = z.object({
  PORT: int(0, 65535).default(defaultConfig.port),
  HOST: z.string().min(1).default(defaultConfig.host),
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be a postgres:// URL',
  }),
  DATA_DIR: z.string().min(1).default(defaultConfig.dataDir),
  DATABASE_SCHEMA: optionalString,
  REDIS_URL: optionalString.refine((v) => v === undefined || /^rediss?:\/\//.test(v), {
    message: 'must be a redis:// URL',
  }),
  REDIS_STORE_AFTER_MS: int(100, 600_000).default(defaultConfig.redisStoreAfterMs),
  AUTH_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: 'must be at least 32 characters (HS256 needs a 256-bit secret)',
  }),
  ALLOWED_ORIGINS: optionalString.transform((v) =>
    v === undefined ? [] : v.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''),
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  COMMIT_INTERVAL_MS: int(1, 1000).optional(),
  COMPACT_AFTER_ROWS: int(2).default(defaultConfig.compactAfterRows),
  COMPACT_MIN_INTERVAL_MS: int(0, 3_600_000).default(defaultConfig.compactMinIntervalMs),
  MAX_MESSAGE_BYTES: int(1024).default(defaultLimits.maxMessageBytes),
  MAX_UPDATE_BYTES: int(1024).default(defaultLimits.maxUpdateBytes),
  MAX_AWARENESS_BYTES: int(64).default(defaultLimits.maxAwarenessBytes),
  MAX_AWARENESS_DEPTH: int(1, 1000).default(defaultLimits.maxAwarenessDepth),
  MESSAGES_PER_SECOND: int(1).default(defaultLimits.messagesPerSecond),
  MESSAGE_BURST: int(1).default(defaultLimits.messageBurst),
  MAX_DOCUMENTS: int(1).default(defaultLimits.maxDocuments),
  MAX_CONNECTIONS_PER_DOCUMENT: int(1).default(defaultLimits.maxConnectionsPerDocument),
  MAX_CONNECTIONS_PER_USER: int(1).default(defaultLimits.maxConnectionsPerUser),
  REQUESTS_PER_MINUTE: int(1).default(defaultLimits.requestsPerMinute),
  IDLE_UNLOAD_MS: int(0).default(defaultLimits.idleUnloadMs),
  PRESENCE_GRACE_MS: int(0).default(defaultLimits.presenceGraceMs),
  WEBHOOK_RETRY_BASE_MS: int(1).default(defaultWebhookConfig.retryBaseMs),
  WEBHOOK_RETRY_MAX_MS: int(1).default(defaultWebhookConfig.retryMaxMs),
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
});

export class ConfigError extends Error {}

export const redisNeedsPostgres =
  'REDIS_URL needs DATABASE_URL: processes that share documents through Redis must share one Postgres (the embedded PGlite belongs to one process)';

/** Reads and checks the environment; throws ConfigError naming every bad variable. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.REDIS_URL && !e.DATABASE_URL) throw new ConfigError(`invalid configuration:\n  REDIS_URL: ${redisNeedsPostgres}`);
  return makeConfig({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    databaseSchema: e.DATABASE_SCHEMA,
    redisUrl: e.REDIS_URL,
    redisStoreAfterMs: e.REDIS_STORE_AFTER_MS,
    authSecret: e.AUTH_SECRET,
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    commitIntervalMs: e.COMMIT_INTERVAL_MS,
    compactAfterRows: e.COMPACT_AFTER_ROWS,
    compactMinIntervalMs: e.COMPACT_MIN_INTERVAL_MS,
    limits: {
      maxMessageBytes: e.MAX_MESSAGE_BYTES,
      maxUpdateBytes: e.MAX_UPDATE_BYTES,
      maxAwarenessBytes: e.MAX_AWARENESS_BYTES,
      maxAwarenessDepth: e.MAX_AWARENESS_DEPTH,
      messagesPerSecond: e.MESSAGES_PER_SECOND,
      messageBurst: e.MESSAGE_BURST,
      maxDocuments: e.MAX_DOCUMENTS,
      maxConnectionsPerDocument: e.MAX_CONNECTIONS_PER_DOCUMENT,
      maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
      requestsPerMinute: e.REQUESTS_PER_MINUTE,
      idleUnloadMs: e.IDLE_UNLOAD_MS,
      presenceGraceMs: e.PRESENCE_GRACE_MS,
    },
    webhooks: {
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.WEBHOOK_RETRY_MAX_MS, e.WEBHOOK_RETRY_BASE_MS),
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
    },
  });
}
