/**
 * The session cache (server/services/session-cache.ts): concurrent misses for many sessions are
 * read together, each caller gets its own session (or null), and a lone miss goes at once; a row
 * past its age is served at once while it is read again, and one past the stale window is waited for.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSessionCache } from '../../server/services/session-cache.ts';
import { createRepositories, type Repositories } from '../../server/services/repositories.ts';
import { databaseKinds, openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';

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

  /**
   * The sessions repository with its answers held until `open()` (a database busy writing): each
   * read is made at once, and delivered when the gate opens.
   */
  function gated(repos: Repositories) {
    let release: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();
    let reads = 0;
    let answered = 0;
    return {
      repo: {
        ...repos.sessions,
        getMany: async (ids: readonly string[]) => {
          reads++;
          const rows = await repos.sessions.getMany(ids);
          await gate;
          answered++;
          return rows;
        },
      },
      close: () => void (gate = new Promise<void>((resolve) => (release = resolve))),
      open: () => release(),
      reads: () => reads,
      answered: () => answered,
    };
  }
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  test('a row past its age is answered at once while it is read again, and the next get has the new row', async ({ repos }) => {
    const db = gated(repos);
    const cache = createSessionCache(db.repo, { ttlMs: 0, staleMs: 60_000 });
    assert.is((await cache.get('s1'))?.name, 's1');
    await repos.sessions.update('s1', { name: 'renamed' });
    db.close();
    let answered: string | undefined;
    void cache.get('s1').then((session) => (answered = session?.name));
    await turns(3);
    assert.is(answered, 's1', 'the cached row, without waiting for the read');
    assert.is(db.reads(), 2, 'and it is read again');
    void cache.get('s1');
    assert.is(db.reads(), 2, 'one read in flight serves every get');
    db.open();
    await waitFor(async () => (await cache.get('s1'))?.name === 'renamed', { message: 'the new row once read' });
  });

  test('a read under way when this process writes the row does not replace what it wrote', async ({ repos }) => {
    const db = gated(repos);
    const cache = createSessionCache(db.repo, { ttlMs: 0, staleMs: 60_000 });
    const row = (await cache.get('s1'))!;
    db.close();
    void cache.get('s1'); // past its age: read again, answered with the row as it is now
    await waitFor(() => db.reads() === 2);
    const updated = (await repos.sessions.update('s1', { name: 'written' }))!;
    cache.set(updated);
    db.open();
    await waitFor(() => db.answered() === 2);
    await turns(2);
    assert.is((await cache.get('s1', 60_000))?.name, 'written', `not the older ${row.name} read before the write`);
  });

  test('a row past its age and the stale window is waited for', async ({ repos }) => {
    const db = gated(repos);
    const cache = createSessionCache(db.repo, { ttlMs: 0, staleMs: 0 });
    await cache.get('s1');
    await repos.sessions.update('s1', { name: 'renamed' });
    db.close();
    let answered: string | undefined;
    const pending = cache.get('s1').then((session) => (answered = session?.name));
    await turns(3);
    assert.is(answered, undefined, 'waits for the read');
    db.open();
    await pending;
    assert.is(answered, 'renamed');
  });

  test.run();
}
