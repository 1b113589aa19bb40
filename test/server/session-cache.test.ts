/**
 * The session cache (server/services/session-cache.ts): concurrent misses for many sessions are
 * read together, each caller gets its own session (or null), and a lone miss goes at once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSessionCache } from '../../server/services/session-cache.ts';
import { createRepositories, type Repositories } from '../../server/services/repositories.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase; repos: Repositories }>(`session cache (${kind})`);
  test.before.each(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    ctx.repos = createRepositories(ctx.t.db);
    await ctx.repos.projects.create({ id: 'p', name: 'P' });
    await ctx.repos.videos.create({ id: 'v', name: 'v', uri: 'u', width: 640, height: 480, fps: 25, frameCount: 100, durationSec: 4 });
    for (let k = 0; k < 150; k++) await ctx.repos.sessions.create({ id: `s${k}`, projectId: 'p', videoId: 'v', name: `s${k}`, docName: `session:s${k}`, createdBy: 'x' });
  });
  test.after.each(async (ctx) => {
    await ctx.t.cleanup();
  });

  /** Selects of `sessions` run while `body` does. */
  async function counted(t: TestDatabase, body: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (/from "sessions"/.test(query.sql)) seen.push(query.sql);
    };
    t.db.knex.on('query', onQuery);
    try {
      await body();
    } finally {
      t.db.knex.off('query', onQuery);
    }
    return seen;
  }

  test('150 sessions and 2 unknown ids asked for at once take a few queries, and each caller gets its own', async ({ t }) => {
    const cache = createSessionCache(createRepositories(t.db).sessions);
    const ids = [...Array.from({ length: 150 }, (_, k) => `s${k}`), 'nope-1', 'nope-2'];
    let answers: (string | null)[] = [];
    const queries = await counted(t, async () => {
      answers = (await Promise.all(ids.map((id) => cache.get(id)))).map((s) => s?.id ?? null);
    });
    assert.equal(answers, [...ids.slice(0, 150), null, null]);
    // The first two go alone (two reads in flight), the rest wait and go 100 at a time: 4, not 152.
    assert.ok(queries.length <= 4, `${queries.length} queries`);
    // Cached now: no query; an unknown id is asked again (absent rows are not cached).
    const again = await counted(t, async () => {
      assert.is((await cache.get('s42'))?.id, 's42');
      assert.is(await cache.get('nope-1'), null);
    });
    assert.is(again.length, 1);
  });

  test('the same miss asked for twice at once is one read, and a failed read fails its callers only', async ({ t, repos }) => {
    const cache = createSessionCache(repos.sessions);
    const queries = await counted(t, async () => {
      const [a, b] = await Promise.all([cache.get('s1'), cache.get('s1')]);
      assert.is(a?.id, 's1');
      assert.is(b, a);
    });
    assert.is(queries.length, 1);
    let fail = true;
    const flaky = createSessionCache({ ...repos.sessions, getMany: (ids) => (fail ? Promise.reject(new Error('db down')) : repos.sessions.getMany(ids)) });
    const refused = await flaky.get('s2').catch((err: Error) => err.message);
    assert.is(refused, 'db down');
    fail = false;
    assert.is((await flaky.get('s2'))?.id, 's2', 'a failed read is not cached');
  });

  test.run();
}
