/**
 * Nothing is lost on restart: the real entry point (`server/main.ts`, as `npm start` runs it) in a
 * child process, stopped with SIGTERM or killed with SIGKILL, then started again on the same data.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { newSessionDoc } from '../../tools/api.ts';
import { addAnnotation, listAnnotations, setLabel } from '../../docs-model/index.ts';
import { trackDurableAcks } from '../../docs-model/durable-acks.ts';
import { connectClient, nextClose, synced, type TestClient } from '../../tools/clients.ts';
import { createTestStorage, startChildServer, testTokens, type ChildServer, type TestStorage } from '../../tools/server.ts';

const adminToken = testTokens.sign({ sub: 'test-admin', admin: true });
import { databaseKinds, waitFor } from '../../tools/databases.ts';

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage; children: ChildServer[]; clients: TestClient[] }>(`restart (${kind})`);

  test.before.each(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.children = [];
    ctx.clients = [];
  });

  test.after.each(async (ctx) => {
    for (const client of ctx.clients) client.destroy();
    for (const child of ctx.children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
    await ctx.storage.cleanup();
  });

  const start = async (ctx: { storage: TestStorage; children: ChildServer[] }) => {
    const child = await startChildServer(ctx.storage.env);
    ctx.children.push(child);
    // The child runs on the storage under test, not on whatever the test process's environment says.
    await waitFor(() => /database: /.test(child.output()));
    assert.match(child.output(), ctx.storage.kind === 'pglite' ? /database: embedded PGlite/ : /database: postgres \(DATABASE_URL\)/);
    return child;
  };

  const join = async (ctx: { clients: TestClient[] }, url: string, name: string, params?: Record<string, string>) => {
    const client = connectClient(url, name, { params: { token: await adminToken, ...params } });
    ctx.clients.push(client);
    await synced(client.provider);
    return client;
  };

  test('restart after SIGTERM keeps everything, and clients see 1001', async (ctx) => {
    const first = await start(ctx);
    const name = (await newSessionDoc(first.url, await adminToken)).docName;
    const writer = await join(ctx, first.url, name);
    const watcher = await join(ctx, first.url, name);
    setLabel(writer.doc, 'car', {});
    for (let i = 0; i < 25; i++) addAnnotation(writer.doc, { frame: i, bbox: [0, 0, 4, 4], label: 'car' }, { by: 'alice' });
    await waitFor(() => watcher.doc.getMap('annotations').size === 25, { message: 'the server relayed every edit' });
    const closing = nextClose(watcher.provider);
    first.process.kill('SIGTERM');
    const [{ code }, exit] = await Promise.all([closing, first.exited]);
    assert.is(code, 1001);
    assert.is(exit.code, 0, first.output());
    for (const client of ctx.clients) client.destroy();
    ctx.clients = [];

    const second = await start(ctx);
    const reader = await join(ctx, second.url, name);
    assert.is(listAnnotations(reader.doc).length, 25);
  });

  test('restart after SIGKILL keeps every acknowledged update, with every client gone', async (ctx) => {
    const first = await start(ctx);
    const name = (await newSessionDoc(first.url, await adminToken)).docName;
    const writer = await join(ctx, first.url, name, { acks: '1' });
    const acks = trackDurableAcks(writer.provider as unknown as Parameters<typeof trackDurableAcks>[0]);
    setLabel(writer.doc, 'car', {});
    for (let i = 0; i < 40; i++) addAnnotation(writer.doc, { frame: i, bbox: [1, 1, 4, 4], label: 'car' }, { by: 'alice' });
    assert.ok(acks.unsavedCount > 0, 'edits start unsaved');
    await waitFor(() => acks.unsavedCount === 0, { message: 'every edit acknowledged as durable' });
    // Nobody can resend anything: the client is gone before the kill.
    acks.destroy();
    writer.destroy();
    ctx.clients = [];
    first.process.kill('SIGKILL');
    assert.is((await first.exited).signal, 'SIGKILL');

    const second = await start(ctx);
    const reader = await join(ctx, second.url, name);
    assert.is(listAnnotations(reader.doc).length, 40);
  });

  test.run();
}
