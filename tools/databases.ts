/**
 * Databases for tests: every persistence test runs on each kind returned by `databaseKinds()`,
 * through the real migrations, on a database nobody else uses (a temp PGlite directory or a fresh
 * Postgres schema), removed by `cleanup()`.
 *
 *   for (const kind of databaseKinds()) {
 *     const test = suite<{ t: TestDatabase }>(`update log (${kind})`)
 *     test.before.each(async (ctx) => { ctx.t = await openTestDatabase(kind) })
 *     test.after.each(async (ctx) => ctx.t.cleanup())
 *   }
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexModule from 'knex';
import { openDatabase, memoryDataDir, type Database, type DatabaseConfig } from '../persistence/database.ts';
import { copyPgliteTemplate } from './pglite-template.ts';

const createKnex = knexModule.knex;

export type DatabaseKind = 'pglite' | 'postgres';

export interface TestDatabase {
  db: Database;
  /** What opened `db`: open it again for a second connection pool on the same data (Postgres). */
  config: DatabaseConfig;
  /** Closes `db` and drops the schema / removes the directory. Idempotent. */
  cleanup(): Promise<void>;
}

let skipAnnounced = false;

/** ['pglite'] plus 'postgres' when DATABASE_URL is set; says so once on stderr when it is not. */
export function databaseKinds(): DatabaseKind[] {
  if (process.env.DATABASE_URL) return ['pglite', 'postgres'];
  if (!skipAnnounced) {
    skipAnnounced = true;
    process.stderr.write('postgres tests skipped: DATABASE_URL is not set\n');
  }
  return ['pglite'];
}

/**
 * A fresh, migrated database: PGlite in a new temp dir, copied from the migrated template
 * (tools/pglite-template.ts), or with `opts.fresh` a new in-memory PGlite run through every
 * migration (seconds); or a new schema `t_<random>` on DATABASE_URL, dropped with CASCADE by cleanup.
 */
export async function openTestDatabase(kind: DatabaseKind, opts: { fresh?: boolean } = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = opts.fresh ? null : await copyPgliteTemplate('annosync-db-');
    const config: DatabaseConfig = { dataDir: dir ? path.join(dir, 'pglite') : memoryDataDir };
    const db = await openDatabase(config);
    let cleaning: Promise<void> | null = null;
    const cleanup = () =>
      (cleaning ??= (async () => {
        await db.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      })());
    return { db, config, cleanup };
  }

  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('openTestDatabase(postgres): DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const config: DatabaseConfig = { databaseUrl, schema };
  const db = await openDatabase(config);
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await db.close();
      // A separate, short-lived pool without the schema on its search_path (and no migrations).
      const admin = createKnex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
      try {
        await admin.raw('drop schema if exists ?? cascade', [schema]);
      } finally {
        await admin.destroy();
      }
    })());
  return { db, config, cleanup };
}

/** Polls `fn` every few milliseconds until it returns something truthy; rejects with `message` after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; message?: string } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(opts.message ?? `condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
