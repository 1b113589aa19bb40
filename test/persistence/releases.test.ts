/**
 * The releases repository over the real migrations, on PGlite (and Postgres with DATABASE_URL):
 * content stored and read back exactly (key order included), names unique per session as a typed
 * error, a project release all or nothing, paging, and deletion refused while a run uses it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, addAnnotations, addTrack, initSession } from '../../docs-model/index.ts';
import { freezeSession, releaseContentHash, releaseContentOf, releaseCounts, type ReleaseContent } from '../../docs-model/release-content.ts';
import { migrateLatest, migrateRollbackAll } from '../../persistence/migrate.ts';
import { InvalidCursorError } from '../../persistence/page.ts';
import { createProjectRepository } from '../../persistence/repositories/projects.ts';
import { createReleasesRepository, ReleaseInUseError, ReleaseNameTakenError, type NewRelease, type ReleasesRepository } from '../../persistence/repositories/releases.ts';
import { createSessionRepository } from '../../persistence/repositories/sessions.ts';
import { createTestRunRepository } from '../../persistence/repositories/test-runs.ts';
import { createVideoRepository } from '../../persistence/repositories/videos.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

/** The stored text read back as content (the service parses it in slices: server/services/release-text.ts). */
async function readBack(releases: ReleasesRepository, id: string): Promise<ReleaseContent | null> {
  const text = await releases.contentText(id);
  return text === null ? null : releaseContentOf(JSON.parse(text));
}

interface Ctx {
  t: TestDatabase;
  releases: ReleasesRepository;
}

const content = (sessionId: string, n = 3): ReleaseContent => {
  const doc = new Y.Doc();
  // Labels and attribute keys deliberately unsorted: the stored content must keep their order.
  initSession(doc, { meta: { sessionId, projectId: 'p', videoId: 'v', width: 100, height: 50, fps: 25, frameCount: 20 }, labels: { truck: {}, car: { color: '#f00' } } });
  addTrack(doc, { id: 't', label: 'car' });
  const inputs = Array.from({ length: n }, (_, k) => ({ id: `a${k}`, frame: k % 20, bbox: [k % 90, 1, 5, 5] as [number, number, number, number], label: k % 2 ? 'truck' : 'car', attributes: { z: k, a: 'é' } }));
  addAnnotations(doc, inputs, { by: 'alice', now: 1 });
  addAnnotation(doc, { id: 'k', frame: 2, bbox: [1, 1, 4, 4], label: 'car', trackId: 't' }, { by: 'alice', now: 1 });
  return freezeSession(doc);
};

const release = async (id: string, sessionId: string, over: Partial<NewRelease> = {}): Promise<NewRelease> => {
  const c = over.content ?? content(sessionId);
  return { id, sessionId, projectId: 'p', name: id, note: null, createdBy: 'alice', contentHash: await releaseContentHash(c), counts: releaseCounts(c), content: c, ...over };
};

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`releases repository (${kind})`);
  test.before.each(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    const { knex } = ctx.t.db;
    await createProjectRepository({ knex }).create({ id: 'p', name: 'P' });
    await createVideoRepository({ knex }).create({ id: 'v', name: 'v', uri: 's3://v', width: 100, height: 50, fps: 25, frameCount: 20, durationSec: 1 });
    const sessions = createSessionRepository({ knex });
    for (const id of ['s1', 's2']) await sessions.create({ id, projectId: 'p', videoId: 'v', name: id, docName: `session:${id}`, createdBy: 'alice' });
    ctx.releases = createReleasesRepository({ knex });
  });
  test.after.each(async (ctx) => ctx.t.cleanup());

  test('stores a release and reads its content back exactly, key order included', async ({ releases }) => {
    const r = await release('r1', 's1', { note: 'first cut' });
    const stored = await releases.insert(r);
    assert.equal({ ...stored, createdAt: '', contentBytes: 0 }, {
      id: 'r1', sessionId: 's1', projectId: 'p', batchId: null, name: 'r1', note: 'first cut', createdAt: '', createdBy: 'alice',
      contentHash: r.contentHash, counts: r.counts, contentBytes: 0,
    });
    assert.ok(stored.contentBytes > 0 && !Number.isNaN(Date.parse(stored.createdAt)));
    const back = await readBack(releases, 'r1');
    assert.is(JSON.stringify(back), JSON.stringify(r.content), 'same JSON text: same key order');
    assert.equal(await releases.get('r1'), stored);
    assert.equal(await releases.getByName('s1', 'r1'), stored);
    assert.is(await releases.contentText('nope'), null);
    assert.is(await releases.get('nope'), null);
  });

  test('a name taken in the session is a typed error; another session may use it', async ({ releases }) => {
    await releases.insert(await release('r1', 's1', { name: 'v1' }));
    try {
      await releases.insert(await release('r2', 's1', { name: 'v1' }));
      assert.unreachable('the name is taken');
    } catch (err) {
      assert.instance(err, ReleaseNameTakenError);
      assert.equal([(err as ReleaseNameTakenError).sessionId, (err as ReleaseNameTakenError).releaseName, (err as ReleaseNameTakenError).status], ['s1', 'v1', 409]);
    }
    await releases.insert(await release('r3', 's2', { name: 'v1' }));
  });

  test('a project release is all or nothing', async ({ releases }) => {
    await releases.insert(await release('old', 's2', { name: 'v2' }));
    const batch = [await release('b1', 's1', { name: 'v2', batchId: 'B' }), await release('b2', 's2', { name: 'v2', batchId: 'B' })];
    try {
      await releases.insertMany(batch);
      assert.unreachable('s2 has v2 already');
    } catch (err) {
      assert.instance(err, ReleaseNameTakenError);
      assert.is((err as ReleaseNameTakenError).sessionId, 's2');
    }
    assert.is(await releases.get('b1'), null, 'the first row was rolled back');
    const made = await releases.insertMany([await release('c1', 's1', { name: 'v3', batchId: 'C' }), await release('c2', 's2', { name: 'v3', batchId: 'C' })]);
    assert.equal(made.map((r) => r.id), ['c1', 'c2']);
    assert.equal((await releases.listBatch('C')).map((r) => r.sessionId), ['s1', 's2']);
  });

  test('lists by session and project in creation order, page by page', async ({ releases }) => {
    for (const id of ['a', 'b', 'c']) await releases.insert(await release(id, 's1'));
    await releases.insert(await release('d', 's2'));
    const first = await releases.listBySession('s1', { limit: 2 });
    assert.equal(first.items.map((r) => r.id), ['a', 'b']);
    const second = await releases.listBySession('s1', { limit: 2, cursor: first.nextCursor! });
    assert.equal([second.items.map((r) => r.id), second.nextCursor], [['c'], null]);
    assert.equal((await releases.listByProject('p', { limit: 10 })).items.map((r) => r.id), ['a', 'b', 'c', 'd']);
    try {
      await releases.listByProject('p', { limit: 10, cursor: 'bogus' });
      assert.unreachable();
    } catch (err) {
      assert.instance(err, InvalidCursorError);
    }
  });

  test('deleting a release a test run is scored against is refused, naming the run', async ({ t, releases }) => {
    await releases.insert(await release('r1', 's1'));
    await releases.insert(await release('r2', 's1'));
    const runs = createTestRunRepository({ knex: t.db.knex });
    await runs.create({ id: 'run1', projectId: 'p', videoId: 'v', sessionId: 's1', model: { name: 'm', version: '1' }, createdBy: 'alice' });
    await t.db.knex('test_runs').where({ id: 'run1' }).update({ release_id: 'r1' });
    try {
      await releases.delete('r1');
      assert.unreachable('run1 uses r1');
    } catch (err) {
      assert.instance(err, ReleaseInUseError);
      assert.equal((err as ReleaseInUseError).testRunIds, ['run1']);
    }
    assert.ok(await releases.get('r1'));
    assert.is(await releases.delete('r2'), true);
    assert.is(await releases.delete('r2'), false);
  });

  test('a 10 000-annotation release is stored compressed and read back whole', async ({ releases }) => {
    const big = content('s1', 10_000);
    const stored = await releases.insert(await release('big', 's1', { content: big }));
    const back = await readBack(releases, 'big');
    assert.is(back!.annotations.length, 10_001);
    assert.is(JSON.stringify(back), JSON.stringify(big));
    assert.ok(stored.contentBytes < JSON.stringify(big).length / 4, `compressed to ${stored.contentBytes} bytes`);
  });

  test('the migration goes down and up again', async ({ t }) => {
    await migrateRollbackAll(t.db.knex);
    assert.is((await t.db.knex.raw("select to_regclass('releases') as r")).rows[0].r, null);
    await migrateLatest(t.db.knex);
    assert.ok(await t.db.knex.schema.hasColumn('test_runs', 'release_id'));
  });

  test.run();
}
