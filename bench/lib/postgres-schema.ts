/**
 * A bench's annosync on Postgres runs in a schema of its own (DATABASE_SCHEMA), dropped at the end:
 * the database is shared with other runs and other checkouts, at other migration levels.
 *
 *   const schema = benchSchema(); … env.DATABASE_SCHEMA = schema; … await dropSchema(url, schema);
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const benchSchema = (): string => `bench_${randomBytes(5).toString('hex')}`;

export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
