/**
 * Two real servers on one Postgres schema and one Redis (docs/architecture.md, "More than one
 * process"), for suites that need several processes: `redisPairSuite` gives a uvu suite whose
 * context holds them (`a`, `b`), the storage, and the clients a test opened (destroyed after each
 * test). Null, after saying so on stderr, when REDIS_URL or DATABASE_URL is not set (CI sets both).
 *
 *   const pair = redisPairSuite('redis fan-out', 'redis fan-out tests');
 *   if (pair) { const { test, join, newSession } = pair; … test.run(); }
 */
import { suite, type Test } from 'uvu';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { jsonClient, linkedSession } from '../../tools/api.ts';

export interface RedisPairContext {
  storage: TestStorage;
  a: TestServer;
  b: TestServer;
  clients: TestClient[];
}

export interface RedisPair {
  test: Test<RedisPairContext>;
  redisUrl: string;
  /** Another server on the same storage and Redis, its fan-out ready. */
  start(storage: TestStorage, overrides?: Parameters<typeof startTestServer>[1]): Promise<TestServer>;
  /** A stock client of `server` on `name`, synced; destroyed after the test. */
  join(ctx: { clients: TestClient[] }, server: TestServer, name: string): Promise<TestClient>;
  newSession(server: TestServer): Promise<{ id: string }>;
}

export function redisPairSuite(name: string, what: string): RedisPair | null {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl || !process.env.DATABASE_URL) {
    process.stderr.write(`${what} skipped: they need REDIS_URL and DATABASE_URL\n`);
    return null;
  }
  const test = suite<RedisPairContext>(name);
  const start = async (storage: TestStorage, overrides: Parameters<typeof startTestServer>[1] = {}) => {
    const server = await startTestServer(storage, { redisUrl, ...overrides });
    await server.server.fanout!.ready;
    return server;
  };
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('postgres');
    ctx.a = await start(ctx.storage);
    ctx.b = await start(ctx.storage);
    ctx.clients = [];
  });
  test.after.each((ctx) => {
    for (const client of ctx.clients) client.destroy();
    ctx.clients = [];
  });
  test.after(async (ctx) => {
    await ctx.a.stop();
    await ctx.b.stop();
    await ctx.storage.cleanup();
  });
  const join = async (ctx: { clients: TestClient[] }, server: TestServer, docName: string) => {
    const client = connectClient(server.url, docName, { params: { token: server.adminToken } });
    ctx.clients.push(client);
    await synced(client.provider);
    return client;
  };
  const newSession = async (server: TestServer) => (await linkedSession(jsonClient(server.url, server.adminToken))).session;
  return { test, redisUrl, start, join, newSession };
}
