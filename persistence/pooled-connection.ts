/**
 * A connection of knex's pool, or of its transaction when `knex` is one, lent to code that talks
 * to the driver itself: the binary COPYs in and out (copy-in.ts, copy-out.ts) and the update log's
 * direct statements (direct-statement.ts). `sql` and `bindings` are told to knex's 'query'
 * listeners (debugging, tests counting statements), as any knex query is.
 *
 *   const rows = await onConnection<PgConnection, number>(knex, sql, [], async (connection) => …)
 */
import type { Knex } from 'knex';

export async function onConnection<C, T>(knex: Knex, sql: string, bindings: readonly unknown[], use: (connection: C) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as C;
  knex.client.emit('query', { method: 'raw', sql, bindings: [...bindings] });
  try {
    return await use(connection);
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
