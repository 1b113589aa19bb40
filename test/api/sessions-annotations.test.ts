/**
 * Sessions, annotations and tracks over real HTTP, with real y-websocket clients on the same
 * documents: a REST write is seen live, a live edit is read over REST.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, getAnnotation, getLabels, getMeta, listAnnotations } from '../../docs-model/index.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import {
  createProject,
  createVideo,
  linkedSession,
  startApiServer,
  type AnnotationBody,
  type AnnotationPageBody,
  type ApiTestServer,
  type ErrorResponse,
  type Items,
  type SessionBody,
  type SessionDetailBody,
  type TrackBody,
} from '../../tools/api.ts';

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  clients: TestClient[];
}

const box = (frame: number, label = 'car', extra: Record<string, unknown> = {}) => ({ frame, bbox: [10, 20, 30, 40], label, ...extra });

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`REST sessions and annotations (${kind})`);
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

  const client = (ctx: Ctx, docName: string): TestClient => {
    const c = connectClient(ctx.t.url, docName, { params: { token: ctx.t.adminToken } });
    ctx.clients.push(c);
    return c;
  };

  test('a session is created for a linked video only, with meta and labels in its document', async (ctx) => {
    const { http } = ctx.t;
    const project = await createProject(http);
    const video = await createVideo(http, { width: 1280, height: 720, fps: 30, frameCount: 900 });
    const unlinked = await http.post<ErrorResponse>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
    assert.is(unlinked.status, 409);
    assert.is(unlinked.body.error.code, 'not_linked');
    assert.is((await http.post(`/api/projects/${project.id}/sessions`, { videoId: 'ghost' })).status, 404);
    assert.is((await http.post(`/api/projects/ghost/sessions`, { videoId: video.id })).status, 404);
    await http.post(`/api/projects/${project.id}/videos`, { videoIds: [video.id] });
    const created = await http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id, name: 'first pass' });
    assert.is(created.status, 201);
    assert.is(created.body.docName, `session:${created.body.id}`);
    assert.is(created.body.status, 'open');

    const c = client(ctx, created.body.docName);
    await synced(c.provider);
    assert.equal(getMeta(c.doc), { sessionId: created.body.id, projectId: project.id, videoId: video.id, width: 1280, height: 720, fps: 30, frameCount: 900 });
    assert.equal(Object.keys(getLabels(c.doc)).sort(), ['bike', 'car', 'person']);

    // Labels added to the project later reach the live document.
    await http.post(`/api/projects/${project.id}/labels`, { labels: [{ name: 'truck' }] });
    await waitFor(() => 'truck' in getLabels(c.doc), { message: 'new label live' });
  });

  test('sessions: list, get with counts and participants, status changes, archive', async (ctx) => {
    const { http } = ctx.t;
    const { project, session } = await linkedSession(http);
    const c = client(ctx, session.docName);
    await synced(c.provider);
    c.provider.awareness.setLocalStateField('user', { name: 'Ada', frame: 12 });
    await http.post(`/api/sessions/${session.id}/annotations`, [box(0), box(1, 'person')]);
    const detail = await waitFor(async () => {
      const res = await http.get<SessionDetailBody>(`/api/sessions/${session.id}`);
      return res.body.annotations.total === 2 && res.body.participants.length === 1 ? res.body : null;
    }, { message: 'counts and participants' });
    assert.equal(detail?.participants[0]?.state, { user: { name: 'Ada', frame: 12 } });

    const listed = await http.get<Items<SessionBody>>(`/api/projects/${project.id}/sessions`);
    assert.equal(listed.body.items.map((s) => s.id), [session.id]);
    const reviewed = await http.patch<SessionBody>(`/api/sessions/${session.id}`, { status: 'review' });
    assert.is(reviewed.body.status, 'review');
    assert.equal((await http.get<Items<SessionBody>>(`/api/projects/${project.id}/sessions?status=open`)).body.items, []);
    const bad = await http.patch<ErrorResponse>(`/api/sessions/${session.id}`, { status: 'done' });
    assert.is(bad.status, 422);
    assert.equal(bad.body.error.details?.map((d) => d.field), ['status']);
    assert.is((await http.patch(`/api/sessions/${session.id}`, {})).status, 422);

    assert.is((await http.delete(`/api/sessions/${session.id}`)).status, 204);
    assert.is((await http.get(`/api/sessions/${session.id}`)).status, 404);
    assert.is((await http.get(`/api/sessions/${session.id}/annotations`)).status, 404);
    assert.is((await http.delete(`/api/sessions/${session.id}`)).status, 404);
    const archived = await http.get<Items<SessionBody>>(`/api/projects/${project.id}/sessions?includeArchived=true`);
    assert.ok(archived.body.items[0]?.archivedAt);
  });

  test('a REST-created annotation reaches a connected WebsocketProvider, and its answer comes after the commit', async (ctx) => {
    const { http, knex } = ctx.t;
    const { session } = await linkedSession(http);
    const c = client(ctx, session.docName);
    await synced(c.provider);
    const rowsBefore = Number((await knex('yjs_updates').where({ doc_name: session.docName }).count({ n: '*' }))[0]?.n);
    const created = await http.post<AnnotationBody>(`/api/sessions/${session.id}/annotations`, box(5, 'car', { detectionId: 'det-1' }));
    assert.is(created.status, 201);
    const rowsAfter = Number((await knex('yjs_updates').where({ doc_name: session.docName }).count({ n: '*' }))[0]?.n);
    assert.ok(rowsAfter > rowsBefore, 'the update is in the log when the answer arrives');
    await waitFor(() => getAnnotation(c.doc, created.body.id) !== null, { message: 'REST → live' });
    assert.equal(getAnnotation(c.doc, created.body.id), created.body);
  });

  test('a box drawn live is readable over REST, edits and deletes included', async (ctx) => {
    const { http } = ctx.t;
    const { session } = await linkedSession(http);
    const c = client(ctx, session.docName);
    await synced(c.provider);
    const drawn = addAnnotation(c.doc, { frame: 7, bbox: [1, 2, 3, 4], label: 'bike', detectionId: 'd-9' }, { by: 'browser' });
    const read = await waitFor(async () => {
      const res = await http.get<AnnotationBody>(`/api/sessions/${session.id}/annotations/${drawn.id}`);
      return res.status === 200 ? res.body : null;
    }, { message: 'live → REST' });
    assert.equal(read, drawn);
    const byDetection = await http.get<AnnotationPageBody>(`/api/sessions/${session.id}/annotations?detectionId=d-9`);
    assert.equal(byDetection.body.items.map((a) => a.id), [drawn.id]);

    const patched = await http.patch<AnnotationBody>(`/api/sessions/${session.id}/annotations/${drawn.id}`, { status: 'validated', bbox: [2, 2, 3, 4] });
    assert.is(patched.status, 200);
    assert.is(patched.body.updatedBy, 'test-admin');
    await waitFor(() => getAnnotation(c.doc, drawn.id)?.status === 'validated', { message: 'patch live' });
    assert.is((await http.delete(`/api/sessions/${session.id}/annotations/${drawn.id}`)).status, 204);
    await waitFor(() => getAnnotation(c.doc, drawn.id) === null, { message: 'delete live' });
    assert.is((await http.get(`/api/sessions/${session.id}/annotations/${drawn.id}`)).status, 404);
    assert.is((await http.delete(`/api/sessions/${session.id}/annotations/${drawn.id}`)).status, 404);
    assert.is((await http.patch(`/api/sessions/${session.id}/annotations/${drawn.id}`, { status: 'draft' })).status, 404);
  });

  test('validation: frame range, box values, box outside the frame (or clipped), unknown label; each 422 names the field', async (ctx) => {
    const { http } = ctx.t;
    const { session } = await linkedSession(http, { video: { width: 640, height: 480, frameCount: 100 } });
    const path = `/api/sessions/${session.id}/annotations`;
    const fieldsOf = async (body: unknown, query = '') => {
      const res = await http.post<ErrorResponse>(path + query, body);
      assert.is(res.status, 422, JSON.stringify(res.body));
      return res.body.error.details?.map((d) => d.field);
    };
    assert.equal(await fieldsOf(box(100)), ['frame']);
    assert.equal(await fieldsOf(box(-1)), ['frame']);
    assert.equal(await fieldsOf({ frame: 1, bbox: [0, 0, 0, 5], label: 'car' }), ['bbox']);
    assert.equal(await fieldsOf({ frame: 1, bbox: [0, 0, 5], label: 'car' }), ['bbox']);
    assert.equal(await fieldsOf({ frame: 1, bbox: [600, 0, 100, 5], label: 'car' }), ['bbox']);
    assert.equal(await fieldsOf(box(1, 'unicorn')), ['label']);
    assert.equal(await fieldsOf({ frame: 1, bbox: [0, 0, 5, 5], label: 'car', trackId: 'no-such-track' }), ['trackId']);
    // 1e999 parses to Infinity: a non-finite box value.
    const inf = await http.request<ErrorResponse>('POST', path, undefined, { headers: { 'content-type': 'application/json' }, raw: '{"frame":1,"bbox":[1e999,0,5,5],"label":"car"}' });
    assert.equal(inf.body.error.details?.map((d) => d.field), ['bbox[0]']);
    const clipped = await http.post<AnnotationBody>(`${path}?clip=true`, { frame: 1, bbox: [600, -10, 100, 50], label: 'car' });
    assert.is(clipped.status, 201);
    assert.equal(clipped.body.bbox, [600, 0, 40, 40]);
    const dup = await http.post<ErrorResponse>(path, { ...box(1), id: clipped.body.id });
    assert.is(dup.status, 409);
    const patchBad = await http.patch<ErrorResponse>(`${path}/${clipped.body.id}`, { frame: 500, label: 'unicorn' });
    assert.equal(patchBad.body.error.details?.map((d) => d.field).sort(), ['frame']);
  });

  test('bulk create is all or nothing, in one transaction', async (ctx) => {
    const { http } = ctx.t;
    const { session } = await linkedSession(http);
    const c = client(ctx, session.docName);
    await synced(c.provider);
    let transactions = 0;
    c.doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (!tr.local) transactions++;
    });
    const refused = await http.post<ErrorResponse>(`/api/sessions/${session.id}/annotations`, [box(0), box(1), box(2, 'unicorn'), box(999)]);
    assert.is(refused.status, 422);
    assert.equal(refused.body.error.details?.map((d) => d.field), ['[2].label', '[3].frame']);
    const page = await http.get<AnnotationPageBody>(`/api/sessions/${session.id}/annotations`);
    assert.equal(page.body.items, [], 'nothing of a refused batch was written');

    const inputs = Array.from({ length: 500 }, (_, i) => box(i % 100));
    const created = await http.post<Items<AnnotationBody>>(`/api/sessions/${session.id}/annotations`, inputs);
    assert.is(created.status, 201);
    assert.is(created.body.items.length, 500);
    await waitFor(() => listAnnotations(c.doc).length === 500, { message: 'bulk live' });
    assert.is(transactions, 1, 'the client received the batch as one update');
    const tooMany = await http.post<ErrorResponse>(`/api/sessions/${session.id}/annotations`, Array.from({ length: 10_001 }, () => box(0)));
    assert.is(tooMany.status, 422);
  });

  test('listing: filters, pagination covering every row once, expand=tracks interpolates', async (ctx) => {
    const { http } = ctx.t;
    const { session } = await linkedSession(http);
    const base = `/api/sessions/${session.id}`;
    const inputs = Array.from({ length: 137 }, (_, i) => box(i % 20, i % 3 === 0 ? 'person' : 'car', { status: i % 5 === 0 ? 'validated' : 'draft' }));
    const created = (await http.post<Items<AnnotationBody>>(`${base}/annotations`, inputs)).body.items;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: AnnotationPageBody } = await http.get<AnnotationPageBody>(`${base}/annotations?limit=9${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.body.items.map((a) => a.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.is(seen.length, 137);
    assert.equal(new Set(seen), new Set(created.map((a) => a.id)));

    const frame3 = await http.get<AnnotationPageBody>(`${base}/annotations?frame=3`);
    assert.equal(frame3.body.items.map((a) => a.id).sort(), created.filter((a) => a.frame === 3).map((a) => a.id).sort());
    // The same frame read again after an edit and a delete of its annotations (the page of a
    // whole frame is kept between reads): the edit shows, the deleted one is gone.
    const [edited, removed] = frame3.body.items as [AnnotationBody, AnnotationBody];
    const relabel = edited.label === 'car' ? 'person' : 'car';
    assert.is((await http.patch(`${base}/annotations/${edited.id}`, { label: relabel })).status, 200);
    assert.is((await http.delete(`${base}/annotations/${removed.id}`)).status, 204);
    const frame3Again = (await http.get<AnnotationPageBody>(`${base}/annotations?frame=3`)).body.items;
    assert.is(frame3Again.find((a) => a.id === edited.id)?.label, relabel);
    assert.equal(frame3Again.map((a) => a.id).sort(), frame3.body.items.filter((a) => a.id !== removed.id).map((a) => a.id).sort());
    created.splice(created.findIndex((a) => a.id === removed.id), 1);
    created.splice(created.findIndex((a) => a.id === edited.id), 1, { ...edited, label: relabel });
    const range = await http.get<AnnotationPageBody>(`${base}/annotations?fromFrame=5&toFrame=7&label=person&status=validated`);
    assert.equal(
      range.body.items.map((a) => a.id).sort(),
      created.filter((a) => a.frame >= 5 && a.frame <= 7 && a.label === 'person' && a.status === 'validated').map((a) => a.id).sort(),
    );
    assert.is((await http.get(`${base}/annotations?fromFrame=9&toFrame=2`)).status, 400);
    assert.is((await http.get(`${base}/annotations?cursor=bogus`)).status, 400);

    const track = await http.post<TrackBody>(`${base}/tracks`, { label: 'person' });
    assert.is(track.status, 201);
    await http.post(`${base}/annotations`, [
      { frame: 30, bbox: [0, 0, 10, 10], label: 'person', trackId: track.body.id },
      { frame: 34, bbox: [40, 0, 10, 10], label: 'person', trackId: track.body.id },
    ]);
    const expanded = await http.get<AnnotationPageBody>(`${base}/annotations?fromFrame=31&toFrame=33&expand=tracks`);
    assert.equal(expanded.body.items, []);
    assert.equal(expanded.body.trackBoxes?.map((b) => [b.frame, b.bbox[0], b.keyframe]), [[31, 10, false], [32, 20, false], [33, 30, false]]);
  });

  test('tracks: create, get, list, patch (label reaches keyframes), delete with or without keyframes', async (ctx) => {
    const { http } = ctx.t;
    const { session } = await linkedSession(http);
    const base = `/api/sessions/${session.id}/tracks`;
    const t1 = (await http.post<TrackBody>(base, { label: 'car', interpolation: 'none' })).body;
    assert.equal((await http.get<TrackBody>(`${base}/${t1.id}`)).body, t1);
    assert.is((await http.post<ErrorResponse>(base, { label: 'unicorn' })).status, 422);
    assert.is((await http.post<ErrorResponse>(base, { id: t1.id, label: 'car' })).status, 409);
    const kf = (await http.post<AnnotationBody>(`/api/sessions/${session.id}/annotations`, box(2, 'car', { trackId: t1.id }))).body;
    const patched = await http.patch<TrackBody>(`${base}/${t1.id}`, { label: 'bike' });
    assert.is(patched.body.label, 'bike');
    assert.is((await http.get<AnnotationBody>(`/api/sessions/${session.id}/annotations/${kf.id}`)).body.label, 'bike');
    assert.equal((await http.get<Items<TrackBody>>(base)).body.items.map((t) => t.id), [t1.id]);
    assert.is((await http.delete(`${base}/${t1.id}`)).status, 204);
    assert.is((await http.get<AnnotationBody>(`/api/sessions/${session.id}/annotations/${kf.id}`)).body.trackId, null, 'keyframe kept, standalone');
    const t2 = (await http.post<TrackBody>(base, { label: 'car' })).body;
    const kf2 = (await http.post<AnnotationBody>(`/api/sessions/${session.id}/annotations`, box(3, 'car', { trackId: t2.id }))).body;
    assert.is((await http.delete(`${base}/${t2.id}?withKeyframes=true`)).status, 204);
    assert.is((await http.get(`/api/sessions/${session.id}/annotations/${kf2.id}`)).status, 404);
    assert.is((await http.get(`${base}/${t2.id}`)).status, 404);
    assert.is((await http.delete(`${base}/${t2.id}`)).status, 404);
    assert.is((await http.patch(`${base}/${t2.id}`, { label: 'car' })).status, 404);
  });

  test.run();
}
