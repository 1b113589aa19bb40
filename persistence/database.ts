/**
 * The database: Postgres when a `databaseUrl` is given, else embedded PGlite (Postgres compiled to
 * WebAssembly) in `dataDir`. Opening connects and runs every migration, so callers get a ready
 * schema; the same SQL serves both.
 *
 *   const db = await openDatabase({ dataDir: 'memory://' })
 *   await db.knex('yjs_updates').count()
 *   await db.close()
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
// knex is CommonJS: under Node's ESM loader only its default export exists (a named import fails at start).
import knexModule from 'knex';
import type { Knex } from 'knex';
import { migrateLatest, retryWhileContended } from './migrate.ts';
import { pgliteThreadClient, type PgliteThreadConnectionConfig } from './pglite-knex-client.ts';
import { repairMigrationLockTable, withMigrationLock } from './migration-lock.ts';
import { loadPg } from './pg-driver.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';

const createKnex = knexModule.knex;

export interface DatabaseConfig {
  /** postgres://… → Postgres (pg); unset → embedded PGlite. */
  databaseUrl?: string;
  /** PGlite directory (default './data/pglite'); 'memory://' → an in-memory PGlite. */
  dataDir?: string;
  /** Postgres schema put first on the search_path (tests use one each); created if missing. */
  schema?: string;
  /** Postgres pool size (default 10). PGlite always has exactly one connection. */
  poolMax?: number;
  /** Where knex's own warnings go (default: nowhere). */
  logger?: Logger;
}

export interface Database {
  knex: Knex;
  kind: 'pglite' | 'postgres';
  /** Destroys the pool (and closes PGlite). Idempotent. */
  close(): Promise<void>;
}

export class DatabaseConfigError extends Error {
  readonly code = 'database_config_invalid';
  override readonly name = 'DatabaseConfigError';
}

export const defaultDataDir = './data/pglite';
export const memoryDataDir = 'memory://';

/** Quoted with `??` anyway; the check keeps a typo from creating a schema nobody means. */
const schemaName = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function knexLog(logger: Logger): Knex.Config['log'] {
  return {
    warn: (message: string) => logger.warn({ source: 'knex' }, message),
    error: (message: string) => logger.error({ source: 'knex' }, message),
    deprecate: (message: string) => logger.warn({ source: 'knex' }, message),
    debug: (message: string) => logger.debug({ source: 'knex' }, message),
  };
}

async function knexConfig(config: DatabaseConfig): Promise<{ kind: Database['kind']; options: Knex.Config }> {
  const log = knexLog(config.logger ?? silentLogger);
  const searchPath = config.schema ? [config.schema] : undefined;
  if (config.databaseUrl) {
    // Loaded here, not by knex's client on its first connection (see pg-driver.ts).
    loadPg();
    return {
      kind: 'postgres',
      options: {
        client: 'pg',
        connection: config.databaseUrl,
        pool: { min: 0, max: config.poolMax ?? 10 },
        ...(searchPath ? { searchPath } : {}),
        log,
      },
    };
  }
  const dataDir = config.dataDir ?? defaultDataDir;
  if (dataDir !== memoryDataDir) {
    mkdirSync(dataDir, { recursive: true });
    await initPgliteDirectory(dataDir);
  }
  return {
    kind: 'pglite',
    options: {
      // PGlite runs in its own worker thread (pglite-knex-client.ts), so its queries no longer hold
      // the sockets' event loop; its module is loaded there only, never on a server on Postgres.
      // The client pins the pool to one connection (PGlite has only one) and refuses a `pool`
      // option. So a transaction holds the whole database until it ends: code inside one must use
      // its `trx` only — a query on the bare knex there waits for the pool forever (see
      // update-log.ts and doc-store.ts, which never nest).
      client: pgliteThreadClient() as unknown as typeof knexModule.Client,
      connection: { dataDir: dataDir === memoryDataDir ? null : dataDir } satisfies PgliteThreadConnectionConfig as Knex.StaticConnectionConfig,
      ...(searchPath ? { searchPath } : {}),
      log,
    },
  };
}

/**
 * Creates a new PGlite directory (initdb) in a child process that then exits. PGlite's WebAssembly
 * memory only grows, and so does a thread's malloc arena: initdb on this process's main thread left
 * a fresh server at ~860 MB RSS for its whole life, and in a worker thread that exits still ~50 MB
 * more than a server opening an existing directory. A process gives all of it back.
 */
async function initPgliteDirectory(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const source =
    `const { PGlite } = require(${JSON.stringify(pglite)});` +
    `const db = new PGlite({ dataDir: ${JSON.stringify(dataDir)} });` +
    `db.waitReady.then(() => db.close()).catch((err) => { console.error(err); process.exit(1); });`;
  // --liftoff-only: as on the server's PGlite thread (pglite-modules.ts), and initdb ends before
  // optimised code would pay off.
  const child = spawn(process.execPath, ['--liftoff-only', '-e', source], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2_000)));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`PGlite initdb in ${dataDir} exited with ${signal ?? code}: ${stderr.trim()}`)),
    );
  });
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.schema !== undefined && !schemaName.test(config.schema)) {
    throw new DatabaseConfigError(`schema ${JSON.stringify(config.schema)} is not a plain SQL identifier`);
  }
  const { kind, options } = await knexConfig(config);
  const knex = createKnex(options);
  let closing: Promise<void> | null = null;
  const db: Database = { knex, kind, close: () => (closing ??= knex.destroy()) };
  try {
    const { schema, databaseUrl } = config;
    const migrate = async () => {
      if (schema) await retryWhileContended(() => knex.raw('create schema if not exists ??', [schema]));
      if (kind === 'postgres') await repairMigrationLockTable(knex);
      await migrateLatest(knex);
    };
    // PGlite belongs to this process alone; on Postgres other processes may be starting too.
    if (kind === 'postgres' && databaseUrl) await withMigrationLock(databaseUrl, schema, migrate);
    else await migrate();
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** `select 1` within `timeoutMs` (for GET /health); never throws. */
export async function isReachable(db: Database, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const probe = db.knex.raw('select 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([probe, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
