/**
 * The hooks every suite of socket tests shares: one server on fresh storage for the suite, and the
 * clients each test opened (pushed onto `ctx.clients`) destroyed after it.
 *
 *   const test = suite<SocketSuiteContext>(`sync (${kind})`);
 *   withServerAndClients(test, kind, (storage) => startTestServer(storage, { limits: { idleUnloadMs: 0 } }));
 *   const client = await joinSynced(ctx, docName)   // destroyed after the test
 */
import type { Test } from 'uvu';
import { connectClient, synced, type TestClient } from './clients.ts';
import type { DatabaseKind } from './databases.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from './server.ts';

export interface SocketSuiteContext {
  storage: TestStorage;
  app: TestServer;
  clients: TestClient[];
}

/** `start` makes the suite's server (default: `startTestServer` with no overrides); it may fill the rest of `ctx` first. */
export function withServerAndClients<C extends SocketSuiteContext>(
  test: Test<C>,
  kind: DatabaseKind,
  start: (storage: TestStorage, ctx: C) => Promise<TestServer> = (storage) => startTestServer(storage),
): void {
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.app = await start(ctx.storage, ctx);
    ctx.clients = [];
  });

  test.after.each((ctx) => {
    for (const client of ctx.clients) client.destroy();
    ctx.clients = [];
  });

  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });
}

/** A stock client on `docName` (the admin token unless `token`), kept in `ctx.clients`, once synced. */
export async function joinSynced(ctx: SocketSuiteContext, docName: string, token = ctx.app.adminToken): Promise<TestClient> {
  const client = connectClient(ctx.app.url, docName, { params: { token } });
  ctx.clients.push(client);
  await synced(client.provider);
  return client;
}
