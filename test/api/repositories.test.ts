/**
 * The platform's repositories over the real migrations, on PGlite (and Postgres with DATABASE_URL).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';
import { createRepositories, type Repositories } from '../../server/services/repositories.ts';
import { migrateLatest, migrateRollbackAll } from '../../persistence/migrate.ts';
import type { AnnotationProjectionRecord } from '../../persistence/rows.ts';
import { InvalidCursorError } from '../../persistence/page.ts';

interface Ctx {
  t: TestDatabase;
  repos: Repositories;
}

const newVideo = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  name: `video ${id}`,
  uri: `s3://v/${id}`,
  width: 1920,
  height: 1080,
  fps: 25,
  frameCount: 250,
  durationSec: 10,
  ...over,
});

const row = (sessionId: string, annotationId: string, over: Partial<AnnotationProjectionRecord> = {}): AnnotationProjectionRecord => ({
  sessionId,
  annotationId,
  frame: 1,
  label: 'car',
  x: 1.5,
  y: 2,
  w: 3,
  h: 4,
  trackId: null,
  detectionId: null,
  status: 'draft',
  updatedAt: 1_700_000_000_123,
  ...over,
});

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`platform repositories (${kind})`);
  test.before.each(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    ctx.repos = createRepositories(ctx.t.db);
  });
  test.after.each(async (ctx) => ctx.t.cleanup());

  test('a project round-trips its labels and criteria as camelCase', async ({ repos }) => {
    const created = await repos.projects.create({
      id: 'p1',
      name: 'Pedestrians',
      labels: [{ name: 'person', color: '#f00', attributes: { occluded: 'bool' } }],
      criteria: { tags: ['night'], fps: { min: 24 }, namePattern: '^cam' },
    });
    assert.equal(await repos.projects.get('p1'), created);
    assert.equal(created.labels, [{ name: 'person', color: '#f00', attributes: { occluded: 'bool' } }]);
    assert.equal(created.criteria, { tags: ['night'], fps: { min: 24 }, namePattern: '^cam' });
    const updated = await repos.projects.update('p1', { description: 'x', labels: [] });
    assert.is(updated?.description, 'x');
    assert.equal(updated?.labels, []);
    assert.is(await repos.projects.update('nope', { name: 'y' }), null);
    assert.ok(await repos.projects.delete('p1'));
    assert.is(await repos.projects.get('p1'), null);
  });

  test('video filters: tag, name search (LIKE characters are literal), unassigned', async ({ repos }) => {
    await repos.projects.create({ id: 'p', name: 'P' });
    await repos.videos.create(newVideo('a', { name: 'Night_drive 100%', tags: ['night', 'rain'] }));
    await repos.videos.create(newVideo('b', { name: 'Day drive', tags: ['day'] }));
    await repos.videos.create(newVideo('c', { name: 'NightXdrive', tags: ['night'] }));
    await repos.projectVideos.assign('p', ['c'], 'alice');
    const ids = async (filter: object) => (await repos.videos.list({ limit: 10, ...filter })).items.map((v) => v.id).sort();
    assert.equal(await ids({ tag: 'night' }), ['a', 'c']);
    assert.equal(await ids({ q: 'night_' }), ['a']);
    assert.equal(await ids({ q: '100%' }), ['a']);
    assert.equal(await ids({ unassigned: true }), ['a', 'b']);
    assert.equal(await ids({ tag: 'night', unassigned: true }), ['a']);
    assert.equal((await repos.videos.listAll({ notInProject: 'p' })).map((v) => v.id).sort(), ['a', 'b']);
  });

  test('pagination covers every row exactly once, also while rows are added between pages', async ({ repos }) => {
    for (let i = 0; i < 23; i++) await repos.videos.create(newVideo(`v${String(i).padStart(2, '0')}`));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await repos.videos.list({ limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((v) => v.id));
      cursor = page.nextCursor ?? undefined;
      if (pages++ === 1) await repos.videos.create(newVideo('late')); // lands after every existing row
    } while (cursor);
    assert.is(seen.length, new Set(seen).size, 'no row twice');
    assert.equal(seen.filter((id) => id !== 'late').sort(), Array.from({ length: 23 }, (_, i) => `v${String(i).padStart(2, '0')}`));
    try {
      await repos.videos.list({ limit: 5, cursor: 'garbage' });
      assert.unreachable('a foreign cursor is refused');
    } catch (err) {
      assert.instance(err, InvalidCursorError);
    }
  });

  test('links record who assigned and when; assigning twice keeps the first link', async ({ repos }) => {
    await repos.projects.create({ id: 'p', name: 'P' });
    await repos.videos.create(newVideo('a'));
    await repos.videos.create(newVideo('b'));
    const first = await repos.projectVideos.assign('p', ['a'], 'alice');
    assert.is(first[0]?.assignedBy, 'alice');
    const second = await repos.projectVideos.assign('p', ['a', 'b', 'b'], 'bob');
    assert.equal(second.map((l) => l.videoId), ['b']);
    const list = await repos.projectVideos.list('p');
    assert.equal(list.map((l) => [l.video.id, l.link.assignedBy]), [['a', 'alice'], ['b', 'bob']]);
    assert.ok(await repos.projectVideos.unassign('p', 'a'));
    assert.not.ok(await repos.projectVideos.unassign('p', 'a'));
  });

  test('sessions: open ones block, complete or archived ones do not', async ({ repos }) => {
    await repos.projects.create({ id: 'p', name: 'P' });
    await repos.videos.create(newVideo('a'));
    const s = await repos.sessions.create({ id: 's1', projectId: 'p', videoId: 'a', name: 'S', docName: 'session:s1', createdBy: 'alice' });
    assert.is(s.status, 'open');
    assert.ok(await repos.sessions.hasOpenSession('p', 'a'));
    await repos.sessions.update('s1', { status: 'complete' });
    assert.not.ok(await repos.sessions.hasOpenSession('p', 'a'));
    await repos.sessions.update('s1', { status: 'review' });
    const archived = await repos.sessions.archive('s1');
    assert.ok(archived?.archivedAt);
    assert.not.ok(await repos.sessions.hasOpenSession('p', 'a'));
    assert.is(await repos.sessions.update('s1', { name: 'x' }), null, 'an archived session is not changed');
    assert.equal((await repos.sessions.listByProject('p', { limit: 10 })).items, []);
    assert.is((await repos.sessions.listByProject('p', { limit: 10, includeArchived: true })).items.length, 1);
    assert.ok(await repos.sessions.videoHasSessions('a'));
  });

  test('the annotations projection upserts, deletes and counts', async ({ repos }) => {
    await repos.projects.create({ id: 'p', name: 'P' });
    await repos.videos.create(newVideo('a'));
    await repos.sessions.create({ id: 's', projectId: 'p', videoId: 'a', name: 'S', docName: 'session:s', createdBy: 'x' });
    await repos.annotations.apply('s', { upsert: [row('s', 'a1'), row('s', 'a2', { status: 'validated', trackId: 't', detectionId: 'd' })], remove: [] });
    assert.equal(await repos.annotations.list('s'), [row('s', 'a1'), row('s', 'a2', { status: 'validated', trackId: 't', detectionId: 'd' })]);
    await repos.annotations.apply('s', { upsert: [row('s', 'a1', { frame: 9, x: 0.25 })], remove: ['a2'] });
    assert.equal(await repos.annotations.list('s'), [row('s', 'a1', { frame: 9, x: 0.25 })]);
    const many = Array.from({ length: 4500 }, (_, i) => row('s', `m${i}`, { frame: i % 7, status: i % 3 === 0 ? 'rejected' : 'draft' }));
    await repos.annotations.apply('s', { upsert: many, remove: ['a1'] });
    const counts = (await repos.annotations.countsBySession(['s', 'other'])).get('s');
    assert.equal(counts, { total: 4500, byStatus: { rejected: 1500, draft: 3000 } });
    assert.equal((await repos.annotations.countsBySession(['other'])).get('other'), { total: 0, byStatus: {} });
    assert.is((await repos.annotations.list('s', { frame: 0 })).length, 643);
  });

  test('a projection batch larger than one transaction is applied whole; on PGlite other statements go in between', async ({ t, repos }) => {
    await repos.projects.create({ id: 'p', name: 'P' });
    await repos.videos.create(newVideo('a'));
    await repos.sessions.create({ id: 's', projectId: 'p', videoId: 'a', name: 'S', docName: 'session:s', createdBy: 'x' });
    await repos.annotations.apply('s', { upsert: Array.from({ length: 1_200 }, (_, i) => row('s', `old${i}`)), remove: [] });
    const upsert = Array.from({ length: 2_000 }, (_, i) => row('s', `new${i}`, { frame: i % 5 }));
    const remove = Array.from({ length: 1_200 }, (_, i) => `old${i}`);
    // Asked for once the batch's first statement is sent: where it ran as one transaction, this
    // waited for all of it on PGlite's one connection.
    const order: string[] = [];
    let probed: Promise<unknown> | null = null;
    const onQuery = (query: { sql: string }) => {
      if (probed === null && query.sql.includes('delete from annotations')) probed = t.db.knex.raw('select 1').then(() => order.push('select'));
    };
    t.db.knex.on('query', onQuery);
    try {
      await repos.annotations.apply('s', { upsert, remove }).then(() => order.push('batch'));
    } finally {
      t.db.knex.off('query', onQuery);
    }
    await probed;
    const rows = await repos.annotations.list('s');
    assert.is(rows.length, 2_000);
    assert.ok(rows.every((r) => r.annotationId.startsWith('new')));
    if (kind === 'pglite') assert.equal(order, ['select', 'batch']);
  });

  test('the platform migration goes down and up again', async ({ t }) => {
    await migrateRollbackAll(t.db.knex);
    for (const table of ['projects', 'videos', 'project_videos', 'sessions', 'annotations']) {
      assert.not.ok(await t.db.knex.schema.hasTable(table), `${table} dropped`);
    }
    await migrateLatest(t.db.knex);
    assert.ok(await t.db.knex.schema.hasTable('annotations'));
  });

  test.run();
}
