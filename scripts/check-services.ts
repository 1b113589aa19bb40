/**
 * CI's guard: the Postgres of DATABASE_URL and the Redis of REDIS_URL must answer, or CI fails
 * here instead of skipping the tests that need them.
 */
import pg from 'pg';
import { Redis } from 'ioredis';

async function checkPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query('select 1');
  } finally {
    await client.end();
  }
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

let failed = false;
for (const [name, url, check] of [
  ['DATABASE_URL', process.env.DATABASE_URL, checkPostgres],
  ['REDIS_URL', process.env.REDIS_URL, checkRedis],
] as const) {
  if (!url) {
    process.stderr.write(`${name} is not set\n`);
    failed = true;
    continue;
  }
  try {
    await check(url);
    process.stdout.write(`${name} reachable\n`);
  } catch (err) {
    process.stderr.write(`${name} (${url}) is not reachable: ${err instanceof Error ? err.message : String(err)}\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
