/**
 * A statement run many times a second, handed to the driver of a connection from knex's pool
 * without knex's query runner: the update log's INSERT, committed every few tens of milliseconds
 * for as long as anyone types (update-log.ts).
 *
 *   const insert = directStatement('annosync_log_insert', 'insert into t (a) select unnest($1::text[])')
 *   const rows = await insert.run(knex, [names])   // rows the statement affected
 *
 * Through `knex.raw`, each run compiled its bindings, went through knex's runner, pool and response
 * processing, all of it in V8's baseline tier since a few dozen calls a second never make it hot:
 * ~6 % of the server's CPU under `bench:sync`'s fan-out to 10 clients on Postgres (`perf record`),
 * more than the INSERT's own driver work. On Postgres the statement is also prepared once per
 * connection (node-pg's named statements: parse and plan once, then bind and execute only); a
 * table renamed or altered meanwhile makes Postgres analyse it again, so nothing stale runs.
 * PGlite's thread takes the text and parameters as any query (pglite-connection.ts).
 *
 * It runs on a connection lent by pooled-connection.ts (the transaction's, given a transaction) and
 * is told to knex's 'query' listeners as a knex query is.
 */
import type { Knex } from 'knex';
import type { PgliteConnection } from './pglite-connection.ts';
import { writesByCopy } from './bytea.ts';
import { onConnection } from './pooled-connection.ts';

/** A node-pg client as far as a named statement needs it. */
interface PgClient {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rowCount: number | null }>;
}

export interface DirectStatement {
  readonly name: string;
  /** `$1`-style placeholders. */
  readonly text: string;
  /** Runs it with `values`; resolves with the number of rows it affected. */
  run(knex: Knex, values: readonly unknown[]): Promise<number>;
}

export function directStatement(name: string, text: string): DirectStatement {
  return {
    name,
    text,
    run(knex, values) {
      // writesByCopy: Postgres through node-pg (PGlite's thread client reads and writes bytes as they are).
      if (writesByCopy(knex)) {
        return onConnection<PgClient, number>(knex, text, values, async (connection) => (await connection.query({ name, text, values })).rowCount ?? 0);
      }
      return onConnection<PgliteConnection, number>(knex, text, values, async (connection) => (await connection.query(text, [...values])).affectedRows ?? 0);
    },
  };
}
