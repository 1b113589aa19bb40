/**
 * When a loaded document compacts (server/documents/compactions.ts): once `compactAfterRows` rows
 * were written since its load or its last compaction, but at most once per `compactMinIntervalMs`.
 * A compaction asked for within the interval runs when the interval ends, with no further write
 * to set it off; an unload compacts whatever is left at once. Real clients, real databases.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addAnnotation, setLabel } from '../../docs-model/index.ts';
import { configFromEnv, ConfigError } from '../../server/config.ts';
import { startTestServer, type TestServer } from '../../tools/server.ts';
import { joinSynced, withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { newSessionDoc } from '../../tools/api.ts';

const sessionName = async (ctx: { app: TestServer }) => (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;

/** `count` annotations from a joined client, each its own update (and log row), all committed. */
async function writeRows(ctx: SocketSuiteContext, name: string, count: number) {
  const client = await joinSynced(ctx, name);
  setLabel(client.doc, 'car', {});
  for (let i = 0; i < count; i++) addAnnotation(client.doc, { frame: i, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'alice' });
  const live = ctx.app.server.registry.get(name)!;
  await waitFor(() => live.ydoc.getMap('annotations').size === count, { message: 'every annotation reached the server' });
  await ctx.app.server.log.flush();
  return client;
}

const setting = suite('compaction pacing: COMPACT_MIN_INTERVAL_MS');

setting('defaults to 10 s, takes 0 (no pacing) to one hour, and refuses a value past either end by name', () => {
  assert.is(configFromEnv({}).compactMinIntervalMs, 10_000);
  assert.is(configFromEnv({ COMPACT_MIN_INTERVAL_MS: '0' }).compactMinIntervalMs, 0);
  assert.is(configFromEnv({ COMPACT_MIN_INTERVAL_MS: '3600000' }).compactMinIntervalMs, 3_600_000);
  for (const bad of ['-1', '3600001', '1.5', 'soon']) {
    const err = (() => {
      try {
        configFromEnv({ COMPACT_MIN_INTERVAL_MS: bad });
        return null;
      } catch (e) {
        return e;
      }
    })();
    assert.instance(err, ConfigError, `${bad} is refused`);
    assert.match((err as Error).message, /COMPACT_MIN_INTERVAL_MS/);
  }
});

setting.run();

for (const kind of databaseKinds()) {
  const paced = suite<SocketSuiteContext>(`compaction pacing, a long interval (${kind})`);
  withServerAndClients(paced, kind, (storage) =>
    startTestServer(storage, { compactAfterRows: 5, compactMinIntervalMs: 60_000, limits: { idleUnloadMs: 0 } }),
  );

  paced('a loaded document past its row threshold does not compact within the interval; its unload compacts everything', async (ctx) => {
    const name = await sessionName(ctx);
    const client = await writeRows(ctx, name, 20);
    // On PGlite a commit's updates of one document are one row (persistence/log-rows.ts).
    const written = await ctx.app.server.store.logLength(name);
    assert.ok(written >= 1, 'the updates are in the log');
    await ctx.app.server.registry.settled();
    assert.is(await ctx.app.server.store.logLength(name), written, 'every row is still in the log: no compaction within the interval');
    client.destroy();
    await waitFor(() => ctx.app.server.registry.get(name) === undefined, { message: 'the document unloads' });
    await waitFor(async () => (await ctx.app.server.store.logLength(name)) === 0, { message: 'the unload compacted the whole log' });
  });

  paced.run();

  const deferred = suite<SocketSuiteContext>(`compaction pacing, a short interval (${kind})`);
  withServerAndClients(deferred, kind, (storage) => startTestServer(storage, { compactAfterRows: 5, compactMinIntervalMs: 1_000 }));

  deferred('a compaction asked for within the interval runs when it ends, while the document stays loaded and unwritten', async (ctx) => {
    const name = await sessionName(ctx);
    await writeRows(ctx, name, 20);
    await waitFor(async () => (await ctx.app.server.store.logLength(name)) === 0, {
      timeoutMs: 15_000,
      message: 'compacted once the interval passed, with no write after the rows',
    });
    assert.ok(ctx.app.server.registry.get(name), 'still loaded: the compaction was the paced one, not an unload');
  });

  deferred.run();
  const together = suite<SocketSuiteContext>(`compaction pacing, documents loaded together (${kind})`);
  // An interval the joins and writes below fit in on a loaded CI machine: a document whose rows
  // arrive after its interval has passed compacts at once (Compactions.counted), with no draw. With
  // 1 s, eight of them did once (compactions spread over 93 ms).
  withServerAndClients(together, kind, (storage) => startTestServer(storage, { compactAfterRows: 5, compactMinIntervalMs: 4_000 }));

  together('documents loaded and written together do not all compact in the same moment: each waits up to half an interval more, at random', async (ctx) => {
    const names = await Promise.all(Array.from({ length: 8 }, () => sessionName(ctx)));
    // Loaded together: their intervals end together, within the few milliseconds their joins took.
    const clients = await Promise.all(names.map((name) => joinSynced(ctx, name)));
    for (const client of clients) {
      setLabel(client.doc, 'car', {});
      for (let i = 0; i < 6; i++) addAnnotation(client.doc, { frame: i, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'alice' });
    }
    await waitFor(() => names.every((name) => ctx.app.server.registry.get(name)?.ydoc.getMap('annotations').size === 6), {
      message: 'every annotation reached the server',
    });
    await waitFor(async () => (await Promise.all(names.map((name) => ctx.app.server.store.logLength(name)))).every((rows) => rows === 0), {
      timeoutMs: 15_000,
      message: 'every document compacted',
    });
    const rows = await ctx.app.server.db.knex('yjs_snapshots').whereIn('doc_name', names).select<{ updated_at: Date | string }[]>('updated_at');
    assert.is(rows.length, names.length);
    const times = rows.map((row) => new Date(row.updated_at).getTime());
    // Eight draws from two seconds: all within 100 ms of each other has a chance of ~1 in 10⁸.
    const range = Math.max(...times) - Math.min(...times);
    assert.ok(range >= 100, `compactions spread over ${range} ms`);
  });

  together.run();
}
