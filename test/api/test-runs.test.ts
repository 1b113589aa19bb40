/**
 * Test runs over real HTTP, with stock y-websocket clients on their `test-run:<id>`
 * documents and a fetch-based SSE reader on their event streams.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as decoding from 'lib0/decoding';
import type { WebsocketProvider } from 'y-websocket';
import { readTestRun } from '../../docs-model/index.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { linkedSession, startApiServer, type ApiTestServer, type ErrorResponse, type Items } from '../../tools/api.ts';
import { openSse, type SseStream } from '../helpers/sse.ts';

interface Run {
  id: string;
  projectId: string;
  status: string;
  processedFrames: number;
  totalFrames: number;
  progress: number;
  revision: number;
  docName: string;
  detectionCount: number;
  evaluation: Record<string, unknown> | null;
}

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  clients: TestClient[];
  streams: SseStream[];
}

/** Counts the permission-denied messages a stock provider receives. */
function countDenials(provider: WebsocketProvider): { reasons: string[] } {
  const seen = { reasons: [] as string[] };
  provider.messageHandlers[2] = (_encoder, decoder) => {
    if (decoding.readVarUint(decoder) === 0) seen.reasons.push(decoding.readVarString(decoder));
  };
  return seen;
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`REST test runs (${kind})`);
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

  const newRun = async (ctx: Ctx, body: Record<string, unknown> = {}) => {
    const fixture = await linkedSession(ctx.t.http);
    const res = await ctx.t.http.post<Run>(`/api/projects/${fixture.project.id}/test-runs`, {
      videoId: fixture.video.id,
      sessionId: fixture.session.id,
      model: { name: 'yolo', version: '8n' },
      ...body,
    });
    assert.is(res.status, 201, res.text);
    return { ...fixture, run: res.body };
  };
  const client = (ctx: Ctx, docName: string, token = ctx.t.adminToken): TestClient => {
    const c = connectClient(ctx.t.url, docName, { params: { token } });
    ctx.clients.push(c);
    return c;
  };
  const sse = async (ctx: Ctx, runId: string, opts: { lastEventId?: number; query?: string } = {}) => {
    const s = await openSse(`${ctx.t.url}/api/test-runs/${runId}/events${opts.query ?? ''}`, ctx.t.adminToken, opts);
    ctx.streams.push(s);
    return s;
  };
  const progress = (ctx: Ctx, id: string, body: Record<string, unknown>) => ctx.t.http.post<Run & ErrorResponse>(`/api/test-runs/${id}/progress`, body);

  test('a WebsocketProvider on test-run:<id> sees each progress post', async (ctx) => {
    const { run } = await newRun(ctx);
    assert.is(run.status, 'queued');
    assert.is(run.totalFrames, 100, "the video's frame count by default");
    assert.is(run.docName, `test-run:${run.id}`);
    const watcher = client(ctx, run.docName);
    await synced(watcher.provider);
    assert.is(readTestRun(watcher.doc)?.status, 'queued');
    for (const n of [10, 20, 30, 40]) {
      const res = await progress(ctx, run.id, { processedFrames: n, totalFrames: 100 });
      assert.is(res.status, 200, res.text);
      // The answer comes after the change was sent to every watcher.
      await waitFor(() => readTestRun(watcher.doc)?.processedFrames === n, { message: `progress ${n} live` });
      const view = readTestRun(watcher.doc)!;
      assert.is(view.status, 'running', 'progress without a status starts a queued run');
      assert.is(view.progress, n / 100);
      assert.is(view.revision, res.body.revision);
    }
    const got = await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`);
    assert.is(got.body.processedFrames, 40);
  });

  test('status only moves forward, a finished run takes nothing more, progress never goes back', async (ctx) => {
    const { run } = await newRun(ctx);
    assert.is((await progress(ctx, run.id, { processedFrames: 5, totalFrames: 100, status: 'running' })).status, 200);
    const back = await progress(ctx, run.id, { processedFrames: 6, totalFrames: 100, status: 'queued' });
    assert.is(back.status, 409);
    assert.is(back.body.error.code, 'status_backwards');
    const late = await progress(ctx, run.id, { processedFrames: 2, totalFrames: 100 });
    assert.is(late.body.processedFrames, 5, 'a late, smaller count leaves the bar');
    const invalid = await progress(ctx, run.id, { processedFrames: 200, totalFrames: 100 });
    assert.is(invalid.status, 422);
    const failed = await progress(ctx, run.id, { processedFrames: 50, totalFrames: 100, status: 'failed', message: 'CUDA out of memory' });
    assert.is(failed.body.status, 'failed');
    assert.ok(failed.body.revision > late.body.revision);
    const again = await progress(ctx, run.id, { processedFrames: 60, totalFrames: 100, status: 'running' });
    assert.is(again.status, 409);
    assert.is(again.body.error.code, 'run_finished');
    assert.is((await ctx.t.http.post<ErrorResponse>(`/api/test-runs/${run.id}/cancel`)).status, 409);
    const detections = await ctx.t.http.post<ErrorResponse>(`/api/test-runs/${run.id}/detections`, [{ frame: 0, bbox: [1, 1, 5, 5], label: 'car', score: 0.5 }]);
    assert.is(detections.status, 409);

    const other = (await newRun(ctx)).run;
    const cancelled = await ctx.t.http.post<Run>(`/api/test-runs/${other.id}/cancel`);
    assert.is(cancelled.body.status, 'cancelled');
  });

  test('detections are validated like annotations, all or nothing, and COCO results are accepted', async (ctx) => {
    const { run, project } = await newRun(ctx);
    const post = (body: unknown, query = '') => ctx.t.http.post<{ accepted: number; run: Run } & ErrorResponse>(`/api/test-runs/${run.id}/detections${query}`, body);
    const bad = await post([
      { frame: 0, bbox: [1, 1, 5, 5], label: 'car', score: 0.5 },
      { frame: 100, bbox: [1, 1, 5, 5], label: 'car', score: 0.5 },
      { frame: 1, bbox: [1, 1, 0, 5], label: 'car', score: 0.5 },
      { frame: 1, bbox: [630, 1, 50, 5], label: 'car', score: 0.5 },
    ]);
    assert.is(bad.status, 422);
    assert.equal(bad.body.error.details?.map((d) => d.field), ['[1].frame', '[2].bbox', '[3].bbox']);
    const score = await post([{ frame: 0, bbox: [1, 1, 5, 5], label: 'car', score: 1.5 }]);
    assert.is(score.status, 422);
    assert.is(score.body.error.details?.[0]?.field, '[0].score');
    const infinite = await ctx.t.http.request<ErrorResponse>('POST', `/api/test-runs/${run.id}/detections`, undefined, {
      headers: { 'content-type': 'application/json' },
      raw: '[{"frame":0,"bbox":[1,1,1e999,5],"label":"car","score":0.5}]',
    });
    assert.is(infinite.status, 422, 'a box that is not finite');
    assert.is((await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`)).body.detectionCount, 0, 'nothing stored');

    const ok = await post([{ frame: 0, bbox: [1, 1, 5, 5], label: 'car', score: 0.5, detectionId: 'd1' }, { frame: 3, bbox: [630, 1, 50, 5], label: 'truck', score: 1 }], '?clip=true');
    assert.is(ok.status, 200, ok.text);
    assert.is(ok.body.accepted, 2);
    assert.is(ok.body.run.detectionCount, 2);
    // COCO results: image_id = frame + 1, category_id = the label's id in the COCO export (car, person, bike).
    const coco = await post([{ image_id: 1, category_id: 2, bbox: [10, 10, 20, 20], score: 0.7 }], '?format=coco');
    assert.is(coco.status, 200, coco.text);
    assert.is(coco.body.run.detectionCount, 3);
    const unknown = await post([{ image_id: 1, category_id: 9, bbox: [10, 10, 20, 20], score: 0.7 }], '?format=coco');
    assert.is(unknown.status, 422);
    assert.is(unknown.body.error.details?.[0]?.field, '[0].category_id');

    const list = await ctx.t.http.get<Items<Run>>(`/api/projects/${project.id}/test-runs`);
    assert.equal(list.body.items.map((r) => r.id), [run.id]);
  });

  test('a large detections body is stored whole, or refused with JSON.parse\'s own message when one element deep in it is broken', async (ctx) => {
    const { run } = await newRun(ctx);
    const items = Array.from({ length: 6000 }, (_, k) => JSON.stringify({ frame: k % 100, bbox: [k % 500, 1, 5, 5], label: k % 3 ? 'car' : 'person', score: 0.5, detectionId: `d "${k}", [x]` }));
    const send = (raw: string) =>
      ctx.t.http.request<{ accepted: number } & ErrorResponse>('POST', `/api/test-runs/${run.id}/detections`, undefined, { headers: { 'content-type': 'application/json' }, raw });
    const broken = [...items];
    broken[5000] = broken[5000]!.replace('"score":0.5', '"score":0.5,');
    const text = `[${broken.join(',')}]`;
    assert.ok(text.length > 256 * 1024, 'large enough to be read in slices');
    let parseError = '';
    try {
      JSON.parse(text);
    } catch (err) {
      parseError = (err as Error).message;
    }
    const refused = await send(text);
    assert.is(refused.status, 400);
    assert.is(refused.body.error.code, 'malformed_json');
    assert.is(refused.body.error.message, `the body is not valid JSON: ${parseError}`);
    assert.is((await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`)).body.detectionCount, 0, 'nothing stored');

    const stored = await send(`[\n  ${items.join(',\n  ')}\n]\n`);
    assert.is(stored.status, 200, stored.text);
    assert.is(stored.body.accepted, 6000);
    assert.is((await ctx.t.http.get<Run>(`/api/test-runs/${run.id}`)).body.detectionCount, 6000);
  });

  test('roles: a viewer reads runs and events but cannot create, report or cancel', async (ctx) => {
    const { run, project, video, session } = await newRun(ctx);
    const viewer = await ctx.t.token({ sub: 'vera', projects: { [project.id]: 'viewer' } });
    const runner = await ctx.t.token({ sub: 'ci', projects: { [project.id]: 'annotator' } });
    const stranger = await ctx.t.token({ sub: 'eve', projects: {} });
    const as = (token: string) => ({
      get: (path: string) => fetch(ctx.t.url + path, { headers: { authorization: `Bearer ${token}` } }),
      post: (path: string, body?: unknown) =>
        fetch(ctx.t.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
    });
    assert.is((await as(viewer).get(`/api/test-runs/${run.id}`)).status, 200);
    assert.is((await as(viewer).get(`/api/test-runs/${run.id}/evaluation`)).status, 200);
    assert.is((await as(stranger).get(`/api/test-runs/${run.id}`)).status, 404);
    assert.is((await as(viewer).post(`/api/test-runs/${run.id}/progress`, { processedFrames: 1, totalFrames: 100 })).status, 403);
    assert.is((await as(viewer).post(`/api/test-runs/${run.id}/cancel`)).status, 403);
    assert.is((await as(viewer).post(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' } })).status, 403);
    assert.is((await as(runner).post(`/api/test-runs/${run.id}/progress`, { processedFrames: 1, totalFrames: 100 })).status, 200);
    assert.is((await as(runner).post(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' } })).status, 201);
  });

  test('SSE delivers every change in order with ids, resumes after Last-Event-ID, beats, and ends with the run', async (ctx) => {
    const { run } = await newRun(ctx);
    const first = await sse(ctx, run.id, { query: '?heartbeatMs=20' });
    assert.is(first.status, 200);
    const snapshot = await first.next();
    assert.is(snapshot.id, run.revision);
    for (const n of [1, 2, 3]) assert.is((await progress(ctx, run.id, { processedFrames: n, totalFrames: 10 })).status, 200);
    const seen = [await first.next(), await first.next(), await first.next()];
    assert.equal(seen.map((e) => (e.data as { run: Run }).run.processedFrames), [1, 2, 3]);
    const ids = seen.map((e) => e.id as number);
    assert.ok(ids[0]! > run.revision && ids[0]! < ids[1]! && ids[1]! < ids[2]!, `increasing ids ${ids.join(',')}`);
    await waitFor(() => first.comments.includes('heartbeat'), { message: 'a heartbeat comment' });
    first.close();

    for (const n of [4, 5]) await progress(ctx, run.id, { processedFrames: n, totalFrames: 10 });
    const resumed = await sse(ctx, run.id, { lastEventId: ids[1]! });
    const replay = [await resumed.next(), await resumed.next(), await resumed.next()];
    assert.equal(replay.map((e) => (e.data as { run: Run }).run.processedFrames), [3, 4, 5], 'the events after the last one seen, in order');
    await progress(ctx, run.id, { processedFrames: 10, totalFrames: 10, status: 'completed' });
    const last = await resumed.next();
    assert.is((last.data as { type: string; run: Run }).run.status, 'completed');
    await resumed.ended;

    // A finished run: the final state, then the stream ends at once.
    const late = await sse(ctx, run.id);
    assert.is(((await late.next()).data as { run: Run }).run.status, 'completed');
    await late.ended;
  });

  test("no client's write to a test-run document is applied, and unknown runs are 4404", async (ctx) => {
    const { run, project } = await newRun(ctx);
    const viewerToken = await ctx.t.token({ sub: 'vera', projects: { [project.id]: 'viewer' } });
    const managerToken = await ctx.t.token({ sub: 'max', projects: { [project.id]: 'manager' } });
    const watcher = client(ctx, run.docName);
    for (const token of [viewerToken, managerToken]) {
      const writer = connectClient(ctx.t.url, run.docName, { params: { token }, connect: false });
      ctx.clients.push(writer);
      const denials = countDenials(writer.provider);
      writer.provider.connect();
      await synced(writer.provider);
      writer.doc.getMap('testRun').set('status', 'completed');
      await waitFor(() => denials.reasons.length === 1, { message: 'told permission denied' });
    }
    await synced(watcher.provider);
    await progress(ctx, run.id, { processedFrames: 7, totalFrames: 100 });
    await waitFor(() => readTestRun(watcher.doc)?.processedFrames === 7);
    assert.is(readTestRun(watcher.doc)?.status, 'running');
    const live = ctx.t.registry.get(run.docName);
    assert.is(live && readTestRun(live.ydoc)?.status, 'running');

    const ghost = connectClient(ctx.t.url, 'test-run:nope', { params: { token: ctx.t.adminToken } });
    ctx.clients.push(ghost);
    await synced(ghost.provider, 5000).then(
      () => assert.unreachable('an unknown run must be refused'),
      (err: Error) => assert.match(err.message, /4404/),
    );
  });
  test.run();
}
