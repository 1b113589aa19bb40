/**
 * Project dashboards and session participants: the `dashboard:<projectId>` document
 * follows annotations, presence and runs live; the JSON route says the same; clients cannot write.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as decoding from 'lib0/decoding';
import { readDashboard } from '../../docs-model/index.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { linkedSession, startApiServer, type ApiTestServer, type Items } from '../../tools/api.ts';

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  clients: TestClient[];
}

interface ParticipantBody {
  name: string;
  frame: number | null;
  since: number;
  sessionId: string;
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`dashboards and participants (${kind})`);
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
    ctx.clients = [];
  });
  test.after.each((ctx) => {
    for (const c of ctx.clients) c.destroy();
    ctx.clients = [];
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
  });

  const client = (ctx: Ctx, docName: string, token = ctx.t.adminToken, connect = true): TestClient => {
    const c = connectClient(ctx.t.url, docName, { params: { token }, connect });
    ctx.clients.push(c);
    return c;
  };

  test('the dashboard shows a new annotation, a new participant and where they are, a run, and who left', async (ctx) => {
    const { http } = ctx.t;
    const { project, video, session } = await linkedSession(http);
    const board = client(ctx, `dashboard:${project.id}`);
    await synced(board.provider);
    await waitFor(() => readDashboard(board.doc)?.projectId === project.id, { message: 'the dashboard is written once watched' });
    const first = readDashboard(board.doc)!;
    assert.equal(first.sessionsByStatus, { open: 1, review: 0, complete: 0 });
    assert.equal(first.videosByGroundTruthStatus, { none: 0, in_progress: 1, complete: 0 });

    assert.is((await http.post(`/api/sessions/${session.id}/annotations`, { frame: 3, bbox: [1, 1, 5, 5], label: 'car' })).status, 201);
    await waitFor(() => readDashboard(board.doc)?.annotationsByLabel.car?.draft === 1, { message: 'the new annotation on the dashboard' });

    const ada = client(ctx, `session:${session.id}`);
    ada.provider.awareness.setLocalStateField('user', { name: 'Ada' });
    ada.provider.awareness.setLocalStateField('frame', 12);
    await synced(ada.provider);
    await waitFor(() => readDashboard(board.doc)?.participants.some((p) => p.name === 'Ada' && p.frame === 12 && p.sessionId === session.id), {
      message: 'Ada on frame 12',
    });
    assert.ok(readDashboard(board.doc)!.activity.some((e) => e.type === 'joined' && e.user === 'Ada'));
    ada.provider.awareness.setLocalStateField('frame', 40);
    await waitFor(() => readDashboard(board.doc)?.participants.some((p) => p.name === 'Ada' && p.frame === 40), { message: 'where she is now' });

    const participants = await http.get<Items<ParticipantBody>>(`/api/sessions/${session.id}/participants`);
    assert.is(participants.status, 200);
    assert.equal(participants.body.items.map((p) => [p.name, p.frame]), [['Ada', 40]]);
    assert.ok(participants.body.items[0]!.since <= Date.now());

    const run = await http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm', version: '1' } });
    await http.post(`/api/test-runs/${run.body.id}/progress`, { processedFrames: 25, totalFrames: 100 });
    await waitFor(() => readDashboard(board.doc)?.runningRuns.some((r) => r.id === run.body.id && r.progress === 0.25), { message: 'the run with its progress' });
    assert.ok(readDashboard(board.doc)!.activity.some((e) => e.type === 'run-started' && e.runId === run.body.id));

    ada.destroy();
    await waitFor(() => readDashboard(board.doc)?.activity.some((e) => e.type === 'left' && e.user === 'Ada'), { message: 'Ada left' });
    await waitFor(() => readDashboard(board.doc)?.participants.length === 0, { message: 'nobody annotating' });

    const json = await http.get<ReturnType<typeof readDashboard>>(`/api/projects/${project.id}/dashboard`);
    assert.is(json.status, 200);
    const live = readDashboard(board.doc)!;
    assert.equal(json.body!.annotationsByLabel, live.annotationsByLabel);
    assert.equal(json.body!.runningRuns, live.runningRuns);
    assert.equal(json.body!.activity.map((e) => e.type), live.activity.map((e) => e.type));
  });

  test('an import shows on the project dashboard as activity', async (ctx) => {
    const { project, session } = await linkedSession(ctx.t.http);
    const body = JSON.stringify({
      images: [{ id: 1, file_name: 'frame_000003.jpg', width: 640, height: 480 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
      categories: [{ id: 1, name: 'car' }],
    });
    const imported = await ctx.t.http.request('POST', `/api/sessions/${session.id}/import?format=coco&mode=merge`, undefined, {
      headers: { 'content-type': 'application/json' },
      raw: body,
    });
    assert.is(imported.status, 200, imported.text);
    const dashboard = await ctx.t.http.get<{ activity: Array<{ type: string; sessionId?: string }> }>(`/api/projects/${project.id}/dashboard`);
    assert.ok(dashboard.body.activity.some((e) => e.type === 'imported' && e.sessionId === session.id), JSON.stringify(dashboard.body.activity));
  });

  test("a viewer's write to a dashboard document is never applied", async (ctx) => {
    const { project } = await linkedSession(ctx.t.http);
    const viewerToken = await ctx.t.token({ sub: 'vera', projects: { [project.id]: 'viewer' } });
    const watcher = client(ctx, `dashboard:${project.id}`);
    const viewer = client(ctx, `dashboard:${project.id}`, viewerToken, false);
    const denials: string[] = [];
    viewer.provider.messageHandlers[2] = (_encoder, decoder) => {
      if (decoding.readVarUint(decoder) === 0) denials.push(decoding.readVarString(decoder));
    };
    viewer.provider.connect();
    await Promise.all([synced(watcher.provider), synced(viewer.provider)]);
    await waitFor(() => readDashboard(watcher.doc) !== null);
    viewer.doc.getMap('dashboard').set('sessionsByStatus', { open: 999 });
    await waitFor(() => denials.length === 1, { message: 'the viewer is told permission denied' });
    const server = ctx.t.registry.get(`dashboard:${project.id}`);
    assert.ok(server);
    assert.is.not(readDashboard(server.ydoc)?.sessionsByStatus.open, 999);
    assert.is.not(readDashboard(watcher.doc)?.sessionsByStatus.open, 999);
  });

  test.run();
}
