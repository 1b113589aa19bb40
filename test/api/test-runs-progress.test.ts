/**
 * Progress of a running run under load: posts that arrive together share one document
 * write, and the `test_runs` row follows the document behind it (server/api/test-run-service.ts).
 * What must hold anyway: each post answers once its change is durable, revisions and Server-Sent
 * Events only move forward, and no read — GET, list, or the row after a crash — goes backwards.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { readTestRun } from '../../docs-model/index.ts';
import { createDocStore } from '../../persistence/doc-store.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { linkedSession, startApiServer, type ApiTestServer, type ErrorResponse, type Items } from '../../tools/api.ts';
import { openSse, type SseStream } from '../helpers/sse.ts';

interface Run {
  id: string;
  status: string;
  processedFrames: number;
  totalFrames: number;
  revision: number;
  docName: string;
}

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  clients: TestClient[];
  streams: SseStream[];
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`test-run progress under load (${kind})`);
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
    ctx.clients = [];
    ctx.streams = [];
  });
  test.after.each((ctx) => {
    for (const c of ctx.clients) c.destroy();
    for (const s of ctx.streams) s.close();
    ctx.clients = [];
    ctx.streams = [];
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
  });

  const startedRun = async (ctx: Ctx) => {
    const { project, video, session } = await linkedSession(ctx.t.http);
    const created = await ctx.t.http.post<Run>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'yolo', version: '8n' } });
    assert.is(created.status, 201, created.text);
    const started = await progress(ctx, created.body.id, { processedFrames: 0, totalFrames: 1000 });
    assert.is(started.body.status, 'running');
    return { project, run: started.body };
  };
  const progress = (ctx: Ctx, id: string, body: Record<string, unknown>) => ctx.t.http.post<Run & ErrorResponse>(`/api/test-runs/${id}/progress`, body);
  const rowOf = async (ctx: Ctx, id: string) =>
    (await ctx.t.knex('test_runs').where({ id }).first()) as { processed_frames: number; revision: number } | undefined;
  /** The run as the database holds its document: snapshot and log, loaded afresh. */
  const storedRun = async (ctx: Ctx, docName: string) => {
    const doc = new Y.Doc();
    for (const update of await createDocStore({ knex: ctx.t.knex }).load(docName)) Y.applyUpdate(doc, update);
    return readTestRun(doc);
  };

  test('posts sent together each answer once durable; document, GET, list and events end at the highest, in order', async (ctx) => {
    const { project, run } = await startedRun(ctx);
    const events = await openSse(`${ctx.t.url}/api/test-runs/${run.id}/events`, ctx.t.adminToken, { lastEventId: run.revision });
    ctx.streams.push(events);
    const watcher = connectClient(ctx.t.url, run.docName, { params: { token: ctx.t.adminToken } });
    ctx.clients.push(watcher);
    await synced(watcher.provider);

    const posts = 40;
    const answers = await Promise.all(Array.from({ length: posts }, (_, i) => progress(ctx, run.id, { processedFrames: i + 1, totalFrames: 1000 })));
    for (const [i, res] of answers.entries()) {
      assert.is(res.status, 200, res.text);
      assert.ok(res.body.revision > run.revision, 'a revision past the one before the posts');
      assert.ok(res.body.processedFrames >= i + 1, 'an answer holds its own post');
    }
    const last = Math.max(...answers.map((res) => res.body.revision));
    assert.ok(last - run.revision <= posts, 'at most one revision per post');

    // Every answer came after its commit: a load from the database holds the last state already.
    const stored = await storedRun(ctx, run.docName);
    assert.is(stored?.processedFrames, posts);
    assert.is(stored?.revision, last);
    assert.is(readTestRun(ctx.t.registry.get(run.docName)!.ydoc)?.revision, last);
    await waitFor(() => readTestRun(watcher.doc)?.revision === last, { message: 'the watcher holds the last state' });
    assert.is(readTestRun(watcher.doc)?.processedFrames, posts);

    const got = await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`);
    assert.is(got.body.processedFrames, posts);
    assert.is(got.body.revision, last);
    // The list reads the rows, which follow behind: it must not show less than GET did.
    const listed = await ctx.t.http.get<Items<Run>>(`/api/projects/${project.id}/test-runs`);
    assert.is(listed.body.items.find((r) => r.id === run.id)?.revision, last);

    const seen: Array<{ id: number; frames: number }> = [];
    while (seen.at(-1)?.id !== last) {
      const event = await events.next();
      seen.push({ id: event.id as number, frames: (event.data as { run: Run }).run.processedFrames });
    }
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.id > seen[i - 1]!.id, `event ids increase: ${seen.map((e) => e.id).join(',')}`);
      assert.ok(seen[i]!.frames >= seen[i - 1]!.frames, 'progress never goes back');
    }
    assert.is(seen.at(-1)?.frames, posts);

    await waitFor(async () => (await rowOf(ctx, run.id))?.revision === last, { message: 'the row follows its document' });
    assert.is((await rowOf(ctx, run.id))?.processed_frames, posts);
  });

  test('a status change after concurrent progress counts from the last of it and goes through the guard', async (ctx) => {
    const { run } = await startedRun(ctx);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => progress(ctx, run.id, { processedFrames: i + 1, totalFrames: 1000 })));
    const last = Math.max(...answers.map((res) => res.body.revision));
    const done = await progress(ctx, run.id, { processedFrames: 1000, totalFrames: 1000, status: 'completed' });
    assert.is(done.status, 200, done.text);
    assert.ok(done.body.revision > last, `${done.body.revision} after ${last}`);
    const late = await progress(ctx, run.id, { processedFrames: 11, totalFrames: 1000 });
    assert.is(late.status, 409);
    assert.is(late.body.error.code, 'run_finished');
    assert.is((await storedRun(ctx, run.docName))?.status, 'completed');
  });

  test('a row left behind its document (a crash before the row was written) is brought up to it before it is read or counted from', async (ctx) => {
    const { run } = await startedRun(ctx);
    for (const n of [1, 2, 3, 4, 5]) assert.is((await progress(ctx, run.id, { processedFrames: n, totalFrames: 1000 })).status, 200);
    const held = (await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`)).body;
    await waitFor(async () => (await rowOf(ctx, run.id))?.revision === held.revision, { message: 'the row caught up' });
    // What a kill -9 within the row's write-behind leaves: every answered post in the document, the row older.
    await ctx.t.knex('test_runs').where({ id: run.id }).update({ processed_frames: 1, revision: run.revision + 1 });
    await ctx.t.stop();
    ctx.t = await startApiServer(ctx.storage);

    const got = await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`);
    assert.is(got.body.processedFrames, 5, 'read as the document holds it');
    assert.is(got.body.revision, held.revision, 'no revision goes back');
    assert.is((await rowOf(ctx, run.id))?.revision, held.revision, 'and the row brought up to it');

    const watcher = connectClient(ctx.t.url, run.docName, { params: { token: ctx.t.adminToken } });
    ctx.clients.push(watcher);
    await synced(watcher.provider);
    const next = await progress(ctx, run.id, { processedFrames: 6, totalFrames: 1000 });
    assert.is(next.status, 200, next.text);
    assert.is(next.body.revision, held.revision + 1);
    await waitFor(() => readTestRun(watcher.doc)?.processedFrames === 6, { message: 'the next post reaches the document' });
    assert.is(readTestRun(watcher.doc)?.revision, held.revision + 1);
  });

  test.run();
}
