/**
 * A REST write is answered once its update is committed, and that commit does not wait for the
 * update log's group-commit interval, which is there for socket traffic (persistence/update-log.ts,
 * `awaited`; docs/architecture.md, "Durability"). The interval's default depends on the database
 * (server/config.ts, `commitIntervalFor`).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { createTestStorage } from '../../tools/server.ts';
import { linkedSession, startApiServer, type ApiSuiteContext } from '../../tools/api.ts';
import { COMMIT_INTERVAL_MS, commitIntervalFor, configFromEnv, ConfigError } from '../../server/config.ts';

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`a REST write's commit (${kind})`);
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    // Far longer than waitFor's 5 s: an answer within those waited for no interval. Not longer
    // still: a server stopping with a write in flight waits for its commit.
    ctx.t = await startApiServer(ctx.storage, { commitIntervalMs: 30_000 });
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
  });

  test('a REST write is answered once its update is stored, without waiting out the commit interval', async ({ t }) => {
    const { session } = await linkedSession(t.http);
    const rows = async () => Number(((await t.knex('yjs_updates').where({ doc_name: session.docName }).count({ n: '*' })) as Array<{ n: string | number }>)[0]!.n);
    const before = await rows();
    const answered: Array<{ status: number; text: string }> = [];
    void t.http.post(`/api/sessions/${session.id}/annotations`, { frame: 0, bbox: [0, 0, 5, 5], label: 'car' }).then((res) => answered.push(res));
    await waitFor(() => answered.length > 0, { message: 'the REST write waited for the commit interval' });
    const res = answered[0]!;
    assert.is(res.status, 201, res.text);
    assert.is(await rows(), before + 1, 'its update is in the log when the answer comes');
  });

  test.run();
}

const defaults = suite('the commit interval by database');

defaults('unset, it is 40 ms on the embedded PGlite and 20 ms on Postgres; set, it is what was set', () => {
  assert.is(commitIntervalFor(configFromEnv({})), COMMIT_INTERVAL_MS.pglite);
  assert.is(COMMIT_INTERVAL_MS.pglite, 40);
  assert.is(commitIntervalFor(configFromEnv({ DATABASE_URL: 'postgres://x@127.0.0.1/db' })), COMMIT_INTERVAL_MS.postgres);
  assert.is(COMMIT_INTERVAL_MS.postgres, 20);
  assert.is(commitIntervalFor(configFromEnv({ COMMIT_INTERVAL_MS: '5' })), 5);
  assert.is(commitIntervalFor(configFromEnv({ COMMIT_INTERVAL_MS: '5', DATABASE_URL: 'postgres://x@127.0.0.1/db' })), 5);
});

defaults('an interval out of range is refused, naming the variable', () => {
  for (const bad of ['0', '1001', 'soon']) {
    try {
      configFromEnv({ COMMIT_INTERVAL_MS: bad });
      assert.unreachable(`COMMIT_INTERVAL_MS=${bad} was taken`);
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.match((err as Error).message, /COMMIT_INTERVAL_MS/);
    }
  }
});

defaults.run();
