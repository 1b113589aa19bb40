/**
 * Serialises migrations across processes on one Postgres database with an advisory lock.
 *
 *   await withMigrationLock(databaseUrl, schema, () => migrateLatest(knex))
 *
 * knex's own lock is not enough for processes that start together on a fresh schema: each one
 * creates `knex_migrations_lock` and, finding it empty, inserts the "unlocked" row — two racing
 * processes insert two. From then on knex's `update … where is_locked = 0` touches two rows, which
 * it reads as "already locked", forever (a CI run of the migrations race test hit this). Holding a
 * Postgres advisory lock around the whole step means only one process ever creates those tables.
 *
 * The lock is taken on a connection of its own, so it works whatever the pool size (a pool of one
 * would otherwise deadlock: the lock holder and the migration waiting for the same connection).
 */
import type { Knex } from 'knex';
import { loadPg } from './pg-driver.ts';

/** One key per schema: processes migrating different schemas of one database do not wait. */
function lockKey(schema: string | undefined): string {
  return `annosync:migrate:${schema ?? ''}`;
}

export async function withMigrationLock<T>(databaseUrl: string, schema: string | undefined, run: () => Promise<T>): Promise<T> {
  // On Postgres only: a server on the embedded PGlite never loads the pg driver (pg-driver.ts).
  const pg = loadPg();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [lockKey(schema)]);
    return await run();
  } finally {
    // Ending the session releases the lock even if the unlock query cannot run.
    await client.end().catch(() => {});
  }
}

/**
 * A database migrated by an earlier version while processes raced can hold several rows in
 * knex's lock table, which locks it for good. Called under the advisory lock, when nobody else is
 * migrating, it puts back the single unlocked row.
 */
export async function repairMigrationLockTable(knex: Knex): Promise<void> {
  const found = await knex.raw<{ rows: Array<{ table: string | null }> }>(`select to_regclass('knex_migrations_lock')::text as table`);
  if (!found.rows[0]?.table) return;
  const rows = await knex('knex_migrations_lock').count<Array<{ count: string | number }>>({ count: '*' });
  if (Number(rows[0]?.count ?? 0) > 1) await knex.migrate.forceFreeMigrationsLock();
}
