/**
 * The `annotations` table follows a live session document: adds, edits and deletes land within
 * the coalescing window, a document seen for the first time is re-projected in full, and sessions
 * that do not exist in `sessions` are left alone.
 */
import { ObservableV2 } from 'lib0/observable';
import type { DocumentEvents } from '../../server/documents/events.ts';
import { suite } from 'uvu';
import * as Y from 'yjs';
import * as assert from 'uvu/assert';
import { addAnnotation, addAnnotations, deleteAnnotation, initSession, listAnnotations, updateAnnotation } from '../../docs-model/index.ts';
import { createUpdateLog, type UpdateLog } from '../../persistence/update-log.ts';
import { silentLogger } from '../../shared/logger.ts';
import { LiveDocument } from '../../server/documents/live-document.ts';
import { parseDocName } from '../../docs-model/protocol.ts';
import { defaultLimits } from '../../server/config.ts';
import { serverOrigin } from '../../server/documents/origins.ts';
import { createProjection, toProjectionRecord, type Projection } from '../../server/followers/projection.ts';
import { createRepositories, type Repositories } from '../../server/services/repositories.ts';
import { databaseKinds, openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';

interface Ctx {
  t: TestDatabase;
  repos: Repositories;
  log: UpdateLog;
  events: ObservableV2<DocumentEvents>;
  projection: Projection;
  docs: LiveDocument[];
}

const meta = { sessionId: 's1', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount: 100 };

function open(ctx: Ctx, name: string, hooks = true): LiveDocument {
  const doc = new LiveDocument(parseDocName(name)!, { log: ctx.log, limits: defaultLimits, ...(hooks ? { events: ctx.events } : {}) });
  ctx.docs.push(doc);
  return doc;
}

async function rowsMatch(ctx: Ctx, doc: LiveDocument, sessionId = 's1'): Promise<boolean> {
  const rows = await ctx.repos.annotations.list(sessionId);
  const expected = listAnnotations(doc.ydoc).map((a) => toProjectionRecord(sessionId, a));
  return JSON.stringify(rows) === JSON.stringify(expected);
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`annotations projection (${kind})`);
  test.before.each(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    ctx.repos = createRepositories(ctx.t.db);
    ctx.log = createUpdateLog({ knex: ctx.t.db.knex, intervalMs: 5 });
    ctx.events = new ObservableV2<DocumentEvents>();
    ctx.projection = createProjection({ documents: ctx.events, annotations: ctx.repos.annotations, sessions: ctx.repos.sessions, logger: silentLogger, windowMs: 10 });
    ctx.docs = [];
    await ctx.repos.projects.create({ id: 'p', name: 'P' });
    await ctx.repos.videos.create({ id: 'v', name: 'v', uri: 'u', width: 640, height: 480, fps: 25, frameCount: 100, durationSec: 4 });
    await ctx.repos.sessions.create({ id: 's1', projectId: 'p', videoId: 'v', name: 's', docName: 'session:s1', createdBy: 'x' });
  });
  test.after.each(async (ctx) => {
    await ctx.projection.close();
    for (const doc of ctx.docs) doc.destroy();
    await ctx.log.close();
    await ctx.t.cleanup();
  });

  test('adds, edits and deletes reach the table', async (ctx) => {
    const doc = open(ctx, 'session:s1');
    const origin = serverOrigin('test');
    initSession(doc.ydoc, { meta, labels: { car: {}, person: {} } }, { origin });
    const many = addAnnotations(doc.ydoc, Array.from({ length: 50 }, (_, i) => ({ frame: i, bbox: [i, 1, 5, 5], label: 'car' })), { by: 'alice', origin });
    await waitFor(() => rowsMatch(ctx, doc), { message: 'adds projected' });
    updateAnnotation(doc.ydoc, many[3]!.id, { label: 'person', status: 'validated', bbox: [1.25, 2, 3, 4] }, { by: 'bob', origin });
    deleteAnnotation(doc.ydoc, many[7]!.id, origin);
    await waitFor(() => rowsMatch(ctx, doc), { message: 'edit and delete projected' });
    const rows = await ctx.repos.annotations.list('s1');
    assert.is(rows.length, 49);
    assert.equal(rows.find((r) => r.annotationId === many[3]!.id)?.x, 1.25);
  });

  test('flush() writes what was marked, without waiting for the window', async (ctx) => {
    const doc = open(ctx, 'session:s1');
    initSession(doc.ydoc, { meta, labels: { car: {} } }, { origin: serverOrigin('t') });
    addAnnotation(doc.ydoc, { frame: 1, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'a', origin: serverOrigin('t') });
    await ctx.projection.flush();
    assert.ok(await rowsMatch(ctx, doc));
  });

  test('a document seen for the first time is re-projected in full (what a crash left behind is repaired)', async (ctx) => {
    // Content written while nobody projected (the process died before its flush).
    const before = open(ctx, 'session:s1', false);
    initSession(before.ydoc, { meta, labels: { car: {} } }, { origin: serverOrigin('t') });
    addAnnotations(before.ydoc, Array.from({ length: 20 }, (_, i) => ({ frame: i, bbox: [0, 0, 5, 5], label: 'car' })), { by: 'a', origin: serverOrigin('t') });
    await ctx.repos.annotations.apply('s1', { upsert: [toProjectionRecord('s1', { ...listAnnotations(before.ydoc)[0]!, id: 'stale' })], remove: [] });
    // The restarted process loads it.
    const loaded = open(ctx, 'session:s1');
    loaded.applyStored([Y.encodeStateAsUpdate(before.ydoc)]);
    ctx.events.emit('load', [loaded]);
    await ctx.projection.flush();
    assert.ok(await rowsMatch(ctx, loaded), 'stale row removed, missing rows written');
  });

  test('a document loaded with nothing stored (a new session) is projected as it changes, its rows never read back', async (ctx) => {
    const reads: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (/^select .* from "annotations"/i.test(query.sql)) reads.push(query.sql);
    };
    ctx.t.db.knex.on('query', onQuery);
    try {
      const doc = open(ctx, 'session:s1');
      ctx.events.emit('load', [doc]);
      const origin = serverOrigin('t');
      initSession(doc.ydoc, { meta, labels: { car: {} } }, { origin });
      addAnnotations(doc.ydoc, Array.from({ length: 30 }, (_, i) => ({ frame: i, bbox: [0, 0, 5, 5], label: 'car' })), { by: 'a', origin });
      await ctx.projection.flush();
      assert.equal(reads, [], 'no repair read');
      ctx.t.db.knex.off('query', onQuery);
      assert.ok(await rowsMatch(ctx, doc));
    } finally {
      ctx.t.db.knex.off('query', onQuery);
    }
  });

  test('documents loaded together are re-projected in full with their rows read 16 sessions per query, each repaired', async (ctx) => {
    const ids = Array.from({ length: 20 }, (_, k) => `s${k + 1}`);
    for (const id of ids.slice(1)) await ctx.repos.sessions.create({ id, projectId: 'p', videoId: 'v', name: id, docName: `session:${id}`, createdBy: 'x' });
    const loaded: LiveDocument[] = [];
    for (const [k, id] of [...ids, 'ghost'].entries()) {
      // Content written while nobody projected, and for some a stale row the repair must remove.
      const before = new Y.Doc();
      initSession(before, { meta: { ...meta, sessionId: id }, labels: { car: {} } }, { origin: serverOrigin('t') });
      addAnnotations(before, Array.from({ length: k % 4 }, (_, i) => ({ frame: i, bbox: [k, 0, 5, 5], label: 'car' })), { by: 'a', origin: serverOrigin('t') });
      const first = listAnnotations(before)[0];
      if (k % 3 === 0 && first && id !== 'ghost') await ctx.repos.annotations.apply(id, { upsert: [toProjectionRecord(id, { ...first, id: 'stale' })], remove: [] });
      const doc = open(ctx, `session:${id}`);
      doc.applyStored([Y.encodeStateAsUpdate(before)]);
      loaded.push(doc);
    }
    const reads: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (/^select .* from "(annotations|sessions)"/i.test(query.sql)) reads.push(query.sql);
    };
    ctx.t.db.knex.on('query', onQuery);
    try {
      for (const doc of loaded) ctx.events.emit('load', [doc]);
      await ctx.projection.flush();
    } finally {
      ctx.t.db.knex.off('query', onQuery);
    }
    for (const [k, id] of ids.entries()) assert.ok(await rowsMatch(ctx, loaded[k]!, id), `${id} repaired`);
    assert.equal(await ctx.repos.annotations.list('ghost'), [], 'a document without a session row is left alone');
    // 21 sessions: two groups, each one read of rows and one of which sessions exist.
    assert.is(reads.filter((sql) => /from "annotations"/.test(sql)).length, 2, reads.join('\n'));
    assert.is(reads.filter((sql) => /from "sessions"/.test(sql)).length, 2, reads.join('\n'));
  });

  test('a change is projected only after its update is committed (the commit never waits behind it)', async (ctx) => {
    // On PGlite's one connection, a projection write that went first held up the commit
    // a REST import answers after. The commit comes only after the interval here; the projection
    // is asked to write at once.
    const slowLog = createUpdateLog({ knex: ctx.t.db.knex, intervalMs: 300 });
    const doc = new LiveDocument(parseDocName('session:s1')!, { log: slowLog, limits: defaultLimits, events: ctx.events });
    ctx.docs.push(doc);
    const pendingAtWrite: number[] = [];
    const onQuery = (query: { sql: string }) => {
      if (/insert into annotations/i.test(query.sql)) pendingAtWrite.push(slowLog.pending(doc.name));
    };
    ctx.t.db.knex.on('query', onQuery);
    try {
      initSession(doc.ydoc, { meta, labels: { car: {} } }, { origin: serverOrigin('t') });
      addAnnotations(doc.ydoc, Array.from({ length: 20 }, (_, i) => ({ frame: i, bbox: [0, 0, 5, 5], label: 'car' })), { by: 'a', origin: serverOrigin('t') });
      assert.ok(slowLog.pending(doc.name) > 0, 'not committed yet');
      await ctx.projection.flush();
      assert.ok(await rowsMatch(ctx, doc), 'projected');
      assert.ok(pendingAtWrite.length > 0, 'the projection wrote');
      assert.equal(pendingAtWrite, pendingAtWrite.map(() => 0), 'every projection write came after the commit');
    } finally {
      ctx.t.db.knex.off('query', onQuery);
      await slowLog.close();
    }
  });

  test('a document without a session row is not projected', async (ctx) => {
    const doc = open(ctx, 'session:unknown');
    initSession(doc.ydoc, { meta: { ...meta, sessionId: 'unknown' }, labels: { car: {} } }, { origin: serverOrigin('t') });
    addAnnotation(doc.ydoc, { frame: 1, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'a', origin: serverOrigin('t') });
    await ctx.projection.flush();
    assert.equal(await ctx.repos.annotations.list('unknown'), []);
  });

  test.run();
}
