/**
 * Runs the statically listed migrations (`migrations/index.ts`) through a custom knex
 * migrationSource, so they run the same under tsx, in a bundle and in tests — no directory scan.
 *
 *   await migrateLatest(knex)        // at start, by openDatabase
 *   await migrateRollbackAll(knex)   // tests: every `down` must leave nothing behind
 */
import type { Knex } from 'knex';
import { migrations, type Migration } from '../migrations/index.ts';

const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};

/** How long a process waits for another one that is migrating the same database. */
const contentionTimeoutMs = 30_000;

/**
 * Two processes starting together on one Postgres both race to create the schema or knex's
 * bookkeeping tables (`relation already exists`, or a unique violation on pg_namespace / pg_type
 * even with IF NOT EXISTS) or find the migration lock taken (knex throws instead of waiting).
 * Either way the other process is doing the work: try again.
 */
function isContention(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // 42P07 duplicate table, 42710 duplicate object (a table's row type), 23505 unique violation in the catalog.
  return code === '42P07' || code === '42710' || code === '23505' || err.message.includes('Migration table is already locked');
}

export async function retryWhileContended(run: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + contentionTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await run();
      return;
    } catch (err) {
      if (!isContention(err) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1000)));
    }
  }
}

export async function migrateLatest(knex: Knex): Promise<void> {
  await retryWhileContended(() => knex.migrate.latest({ migrationSource }));
}

export async function migrateRollbackAll(knex: Knex): Promise<void> {
  await retryWhileContended(() => knex.migrate.rollback({ migrationSource }, true));
}
