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
 * The statement is told to knex's 'query' listeners as a knex query is (tests count statements).
 * It runs on the pool's connections only, never inside a knex transaction.
 */
import type { Knex } from 'knex';
import type { PgliteConnection } from './pglite-connection.ts';
import { writesByCopy } from './bytea.ts';

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
    async run(knex, values) {
      if (knex.isTransaction) throw new Error(`${name}: a direct statement runs on the pool, not in a transaction`);
      const client = knex.client as Knex.Client;
      const connection: unknown = await client.acquireConnection();
      client.emit('query', { method: 'raw', sql: text, bindings: [...values], direct: true });
      try {
        // writesByCopy: Postgres through node-pg (PGlite's thread client reads and writes bytes as they are).
        if (writesByCopy(knex)) {
          const result = await (connection as PgClient).query({ name, text, values });
          return result.rowCount ?? 0;
        }
        const result = await (connection as PgliteConnection).query(text, [...values]);
        return result.affectedRows ?? 0;
      } finally {
        await client.releaseConnection(connection);
      }
    },
  };
}
