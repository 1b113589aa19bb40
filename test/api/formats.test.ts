/**
 * Export and import over real HTTP: every format streamed with its headers and parsed
 * back, native JSON round trips, merge and replace, dryRun, refusals that leave the session
 * unchanged, roles, a live client seeing an import, and the project-level export.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strToU8, strFromU8, unzipSync, zipSync } from 'fflate';
import { listAnnotations } from '../../docs-model/index.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { createProject, createVideo, linkedSession, startApiServer, type ApiTestServer, type ErrorResponse, type SessionBody } from '../../tools/api.ts';

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  clients: TestClient[];
}

interface ImportAnswer {
  frameRule: string;
  imported: number;
  updated: number;
  skipped: number;
  deleted: number;
  labelsAdded: string[];
  warnings: Array<{ code: string; place: string }>;
}

interface NativeFile {
  meta: Record<string, unknown>;
  labels: Record<string, unknown>;
  tracks: Array<Record<string, unknown>>;
  annotations: Array<Record<string, unknown> & { id: string }>;
}

interface CocoFile {
  images: Array<{ id: number; file_name: string; frame_id: number; video_id: number }>;
  annotations: Array<{ id: number; image_id: number; bbox: number[]; attributes: Record<string, unknown> }>;
  categories: Array<{ id: number; name: string }>;
}

const get = async (t: ApiTestServer, path: string, token = t.adminToken) => {
  const res = await fetch(t.url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
};

const json = <T>(bytes: Uint8Array): T => JSON.parse(strFromU8(bytes)) as T;

const post = (t: ApiTestServer, path: string, type: string, raw: string | Uint8Array, token = t.adminToken) =>
  t.http.request<ImportAnswer & ErrorResponse>('POST', path, undefined, { headers: { 'content-type': type, authorization: `Bearer ${token}` }, raw });

/** A track (keyframes on frames 0 and 10, outside from 20) and one standalone box: 21 boxes on 20 frames. */
async function populated(t: ApiTestServer): Promise<{ session: SessionBody; projectId: string; videoId: string }> {
  const { session, project, video } = await linkedSession(t.http);
  const base = `/api/sessions/${session.id}`;
  assert.is((await t.http.post(`${base}/tracks`, { id: 't1', label: 'car' })).status, 201);
  const created = await t.http.post(`${base}/annotations`, [
    { id: 'k0', frame: 0, bbox: [10, 10, 50, 50], label: 'car', trackId: 't1', attributes: { speed: 3 } },
    { id: 'k10', frame: 10, bbox: [110, 10, 50, 50], label: 'car', trackId: 't1' },
    { id: 'k20', frame: 20, bbox: [110, 10, 50, 50], label: 'car', trackId: 't1', outside: true },
    { id: 'a1', frame: 5, bbox: [300, 200, 40, 60], label: 'person', status: 'validated', attributes: { note: 'checked' } },
  ]);
  assert.is(created.status, 201, created.text);
  return { session, projectId: project.id, videoId: video.id };
}

const nativeOf = async (t: ApiTestServer, sessionId: string): Promise<NativeFile> => {
  const res = await get(t, `/api/sessions/${sessionId}/export?format=json`);
  assert.is(res.status, 200);
  return json<NativeFile>(res.bytes);
};

/** The session's content with what differs between sessions (meta) left out. */
const contentOf = (file: NativeFile) => ({ labels: file.labels, tracks: file.tracks, annotations: file.annotations });

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`REST export and import (${kind})`);
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

  test('COCO export streams every interpolated box with its attachment name and loss header', async ({ t }) => {
    const { session } = await populated(t);
    const res = await get(t, `/api/sessions/${session.id}/export?format=coco`);
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.is(res.headers.get('content-disposition'), `attachment; filename="session-${session.id}-coco.json"`);
    const coco = json<CocoFile>(res.bytes);
    assert.is(coco.annotations.length, 21, 'frames 0-19 of the track and the standalone box');
    assert.is(coco.images.length, 20);
    assert.equal(coco.images.slice(0, 2).map((i) => i.file_name), ['frame_000000.jpg', 'frame_000001.jpg']);
    assert.equal(coco.categories.map((c) => c.name), ['car', 'person', 'bike']);
    assert.ok(coco.annotations.some((a) => a.attributes.trackId === 't1' && a.attributes.keyframe === false), 'interpolated boxes carry their track');
    const loss = res.headers.get('x-annosync-loss') ?? '';
    assert.match(loss, /outside-keyframes=1/);
    assert.match(loss, /meta-dropped/, 'label colours have no place in COCO');

    const drawn = json<CocoFile>((await get(t, `/api/sessions/${session.id}/export?format=coco&keyframesOnly=true&allFrames=true`)).bytes);
    assert.is(drawn.annotations.length, 3, 'keyframes and the standalone box, not the outside marker');
    assert.is(drawn.images.length, 100, 'every frame of the video');

    const report = await t.http.get<Record<string, unknown>>(`/api/sessions/${session.id}/export?format=coco&report=true`);
    assert.is(report.status, 200);
    assert.is(report.body.summary, loss);
    assert.is(report.body.outsideKeyframes, 1);
  });

  test('YOLO and Ultralytics exports are zips whose loss.json agrees with the header', async ({ t }) => {
    const { session } = await populated(t);
    for (const format of ['yolo', 'ultralytics'] as const) {
      const res = await get(t, `/api/sessions/${session.id}/export?format=${format}`);
      assert.is(res.status, 200);
      assert.is(res.headers.get('content-type'), 'application/zip');
      assert.is(res.headers.get('content-disposition'), `attachment; filename="session-${session.id}-${format}.zip"`);
      const files = unzipSync(res.bytes);
      const labels = format === 'yolo' ? 'obj_train_data/' : 'labels/train/';
      const txt = Object.keys(files).filter((n) => n.startsWith(labels));
      assert.is(txt.length, 20, `${format}: one label file per frame with a box`);
      const frame5 = strFromU8(files[`${labels}frame_000005.txt`]!).trim().split('\n');
      assert.is(frame5.length, 2, 'the track box and the standalone box');
      for (const line of frame5) assert.match(line, /^\d (\d\.\d{6} ){3}\d\.\d{6}$/);
      if (format === 'yolo') {
        assert.is(strFromU8(files['obj.names']!), 'car\nperson\nbike\n');
        assert.is(strFromU8(files['train.txt']!).split('\n')[0], 'data/obj_train_data/frame_000000.jpg');
      } else assert.match(strFromU8(files['data.yaml']!), /names:\n {2}0: "car"\n {2}1: "person"/);
      const loss = json<{ tracksFlattened: number }>(files['loss.json']!);
      assert.is(loss.tracksFlattened, 1);
      const header = res.headers.get('x-annosync-loss') ?? '';
      assert.match(header, /tracks-flattened=1/);
      const report = await t.http.get<{ summary: string; statusesDropped: number }>(`/api/sessions/${session.id}/export?format=${format}&report=true`);
      assert.is(report.body.summary, header);
      assert.equal({ ...report.body, summary: undefined }, { ...loss, summary: undefined }, 'the first pass equals the exporter’s own report');
    }
  });

  test('VOC export writes one XML per frame, as-is or with the devkit offset', async ({ t }) => {
    const { session } = await populated(t);
    const res = await get(t, `/api/sessions/${session.id}/export?format=voc`);
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-type'), 'application/zip');
    const files = unzipSync(res.bytes);
    assert.is(Object.keys(files).filter((n) => n.startsWith('Annotations/')).length, 20);
    assert.is(strFromU8(files['ImageSets/Main/default.txt']!).split('\n')[0], 'frame_000000');
    const xml = strFromU8(files['Annotations/frame_000005.xml']!);
    assert.match(xml, /<xmin>300<\/xmin><ymin>200<\/ymin><xmax>340<\/xmax><ymax>260<\/ymax>/);
    const devkit = unzipSync((await get(t, `/api/sessions/${session.id}/export?format=voc&vocOffset=1`)).bytes);
    assert.match(strFromU8(devkit['Annotations/frame_000005.xml']!), /<xmin>301<\/xmin><ymin>201<\/ymin><xmax>340<\/xmax>/);
    const loss = json<{ attributesDropped: number }>(files['loss.json']!);
    assert.match(res.headers.get('x-annosync-loss') ?? '', new RegExp(`attributes-dropped=${loss.attributesDropped}`));
    assert.ok(loss.attributesDropped > 0, 'the numeric speed attribute becomes text');
  });

  test('native JSON export then import into another session gives identical content', async ({ t }) => {
    const { session } = await populated(t);
    const original = await nativeOf(t, session.id);
    const res = await get(t, `/api/sessions/${session.id}/export?format=json`);
    assert.is(res.headers.get('x-annosync-loss'), 'none');
    const { session: other } = await linkedSession(t.http);
    const imported = await post(t, `/api/sessions/${other.id}/import?format=json&mode=replace`, 'application/json', res.bytes);
    assert.is(imported.status, 200, imported.text);
    assert.is(imported.body.imported, 4);
    assert.is(imported.body.frameRule, 'native');
    assert.equal(contentOf(await nativeOf(t, other.id)), contentOf(original));
  });

  test('merge upserts by id and keeps the rest; replace swaps the content', async ({ t }) => {
    const { session } = await populated(t);
    const original = await nativeOf(t, session.id);
    const changed = original.annotations.find((a) => a.id === 'a1')!;
    const file: NativeFile = {
      ...original,
      tracks: [],
      annotations: [
        { ...changed, bbox: [301, 200, 40, 60] },
        { ...changed, id: 'a2', frame: 7 },
      ],
    };
    const body = JSON.stringify({ format: 'annosync-session', schemaVersion: 1, ...file });
    const merged = await post(t, `/api/sessions/${session.id}/import?format=json&mode=merge`, 'application/json', body);
    assert.is(merged.status, 200, merged.text);
    assert.equal([merged.body.imported, merged.body.updated, merged.body.deleted], [1, 1, 0]);
    const afterMerge = await nativeOf(t, session.id);
    assert.equal(afterMerge.annotations.map((a) => a.id).sort(), ['a1', 'a2', 'k0', 'k10', 'k20']);
    assert.equal(afterMerge.annotations.find((a) => a.id === 'a1')!.bbox, [301, 200, 40, 60]);

    const again = await post(t, `/api/sessions/${session.id}/import?format=json&mode=merge`, 'application/json', body);
    assert.equal([again.body.imported, again.body.updated, again.body.skipped], [0, 0, 2], 'the same file twice changes nothing');

    const replaced = await post(t, `/api/sessions/${session.id}/import?format=json&mode=replace`, 'application/json', body);
    assert.is(replaced.status, 200, replaced.text);
    assert.is(replaced.body.deleted, 3);
    const afterReplace = await nativeOf(t, session.id);
    assert.equal(afterReplace.annotations.map((a) => a.id), ['a1', 'a2']);
    assert.equal(afterReplace.tracks, []);
  });

  test('a merged COCO file updates keyframes matched by track id and frame', async ({ t }) => {
    const { session } = await populated(t);
    const coco = json<CocoFile>((await get(t, `/api/sessions/${session.id}/export?format=coco`)).bytes);
    const res = await post(t, `/api/sessions/${session.id}/import?format=coco&mode=merge`, 'application/json', JSON.stringify(coco));
    assert.is(res.status, 200, res.text);
    assert.is(res.body.frameRule, 'frame_id');
    const after = await nativeOf(t, session.id);
    assert.equal(after.annotations.filter((a) => a.trackId === 't1' && !a.outside).map((a) => a.id), ['k0', 'k10'], 'no duplicate keyframes');
  });

  test('dryRun answers the counts and leaves the session unchanged', async ({ t }) => {
    const { session } = await populated(t);
    const before = await nativeOf(t, session.id);
    const zip = zipSync({ 'obj.names': strToU8('car\ntruck\n'), 'obj_train_data/frame_000003.txt': strToU8('0 0.5 0.5 0.1 0.1\n1 0.2 0.2 0.1 0.1\n') });
    const res = await post(t, `/api/sessions/${session.id}/import?format=yolo&dryRun=true`, 'application/zip', zip);
    assert.is(res.status, 200, res.text);
    assert.is(res.body.imported, 2);
    assert.equal(res.body.labelsAdded, ['truck']);
    assert.ok(res.body.warnings.some((w) => w.code === 'label_added'));
    assert.equal(await nativeOf(t, session.id), before);

    const strict = await post(t, `/api/sessions/${session.id}/import?format=yolo&strictLabels=true`, 'application/zip', zip);
    assert.is(strict.status, 422);
    assert.ok(strict.body.error.details?.some((d) => d.code === 'unknown_label'));
    assert.equal(await nativeOf(t, session.id), before);
  });

  test('a bad file is refused with every problem and its place, and nothing changes', async ({ t }) => {
    const { session } = await populated(t);
    const before = await nativeOf(t, session.id);
    const bad = {
      images: [{ id: 1, file_name: 'frame_000001.jpg', width: 640, height: 480 }],
      categories: [{ id: 1, name: 'car' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10] },
        { id: 1, image_id: 1, category_id: 1, bbox: [5, 5, 10, 10] },
        { id: 2, image_id: 1, category_id: 9, bbox: [0, 0, 10, 10] },
        { id: 3, image_id: 1, category_id: 1, segmentation: [[0, 0, 1, 1, 2, 2]] },
      ],
    };
    const res = await post(t, `/api/sessions/${session.id}/import?format=coco`, 'application/json', JSON.stringify(bad));
    assert.is(res.status, 422);
    assert.is(res.body.error.code, 'import_invalid');
    const details = (res.body.error.details ?? []) as unknown as Array<{ code: string; place: string }>;
    assert.equal(details.map((d) => `${d.code}@${d.place}`), ['duplicate_id@/annotations/1/id', 'unknown_category@/annotations/2/category_id', 'unsupported_shape@/annotations/3']);

    // Valid as a file, refused by the session: frames past the video's 100.
    const late = { ...bad, images: [{ id: 1, file_name: 'x.jpg', width: 640, height: 480, frame_id: 500 }], annotations: [bad.annotations[0], { ...bad.annotations[0], id: 7 }] };
    const refused = await post(t, `/api/sessions/${session.id}/import?format=coco`, 'application/json', JSON.stringify(late));
    assert.is(refused.status, 422, refused.text);
    assert.is((refused.body.error.details ?? []).length, 2, 'both boxes reported');
    assert.ok((refused.body.error.details ?? []).every((d) => d.code === 'invalid_frame'));

    const doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><annotation></annotation>';
    const xml = await post(t, `/api/sessions/${session.id}/import?format=voc`, 'application/xml', doctype);
    assert.is(xml.status, 422);
    assert.is((xml.body.error.details ?? [])[0]?.code, 'xml_doctype');
    assert.equal(await nativeOf(t, session.id), before);
  });

  test('a wrong content type is 415 and a body past its limit 413', async ({ t }) => {
    const { session } = await populated(t);
    const before = await nativeOf(t, session.id);
    const path = `/api/sessions/${session.id}/import`;
    assert.is((await post(t, `${path}?format=coco`, 'text/plain', '{}')).status, 415);
    assert.is((await post(t, `${path}?format=yolo`, 'application/json', '{}')).status, 415);
    const huge = `<annotation>${' '.repeat(5 * 1024 * 1024)}</annotation>`;
    const big = await post(t, `${path}?format=voc`, 'application/xml', huge);
    assert.is(big.status, 413);
    assert.is(big.body.error.code, 'too_large');
    assert.is((await post(t, `${path}?format=csv`, 'application/json', '{}')).status, 400);
    assert.equal(await nativeOf(t, session.id), before);
  });

  test('a viewer exports but cannot import', async ({ t }) => {
    const { session, projectId } = await populated(t);
    const viewer = await t.token({ sub: 'vera', projects: { [projectId]: 'viewer' } });
    const annotator = await t.token({ sub: 'anna', projects: { [projectId]: 'annotator' } });
    const manager = await t.token({ sub: 'max', projects: { [projectId]: 'manager' } });
    const file = (await get(t, `/api/sessions/${session.id}/export?format=json`, viewer)).bytes;
    assert.ok(file.length > 0);
    const path = `/api/sessions/${session.id}/import?format=json`;
    assert.is((await post(t, path, 'application/json', file, viewer)).status, 403);
    assert.is((await post(t, path, 'application/json', file, annotator)).status, 403);
    assert.is((await post(t, path, 'application/json', file, manager)).status, 200);
    const stranger = await t.token({ sub: 'sam', projects: {} });
    assert.is((await get(t, `/api/sessions/${session.id}/export?format=coco`, stranger)).status, 404, 'a stranger cannot tell the session exists');
  });

  test('a connected annotator sees an import as soon as it is answered', async (ctx) => {
    const { t } = ctx;
    const { session } = await populated(t);
    const c = connectClient(t.url, session.docName, { params: { token: t.adminToken } });
    ctx.clients.push(c);
    await synced(c.provider);
    const xml = '<annotation><filename>frame_000042.jpg</filename><size><width>640</width><height>480</height></size>' +
      '<object><name>bike</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>31</xmax><ymax>42</ymax></bndbox></object></annotation>';
    const res = await post(t, `/api/sessions/${session.id}/import?format=voc`, 'application/xml', xml);
    assert.is(res.status, 200, res.text);
    assert.is(res.body.imported, 1);
    const seen = (await waitFor(() => listAnnotations(c.doc).find((a) => a.label === 'bike'), { message: 'import reaches the client' }))!;
    assert.equal(seen.bbox, [1, 2, 30, 40]);
    assert.is(seen.frame, 42);
    assert.is(seen.source, 'import');
  });

  test('the project export holds every session with frames prefixed by video', async ({ t }) => {
    const project = await createProject(t.http);
    const sessions: SessionBody[] = [];
    for (const n of [0, 1]) {
      const video = await createVideo(t.http, { name: `clip ${n}` });
      await t.http.post(`/api/projects/${project.id}/videos`, { videoIds: [video.id] });
      const s = (await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id })).body;
      await t.http.post(`/api/sessions/${s.id}/annotations`, { frame: 3, bbox: [1, 1, 10, 10], label: 'car' });
      sessions.push(s);
    }
    const res = await get(t, `/api/projects/${project.id}/export?format=coco`);
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-disposition'), `attachment; filename="project-${project.id}-coco.json"`);
    const coco = json<CocoFile>(res.bytes);
    assert.equal(coco.images.map((i) => i.file_name).sort(), sessions.map((s) => `${s.videoId}/frame_000003.jpg`).sort());
    assert.is(new Set(coco.images.map((i) => i.id)).size, 2, 'image ids never collide');
    assert.is(coco.annotations.length, 2);

    const native = json<{ format: string; sessions: NativeFile[] }>((await get(t, `/api/projects/${project.id}/export?format=json`)).bytes);
    assert.is(native.format, 'annosync-project');
    assert.equal(native.sessions.map((s) => s.meta.sessionId).sort(), sessions.map((s) => s.id).sort());

    const zipOf = async (format: string): Promise<Record<string, string>> => {
      const r = await get(t, `/api/projects/${project.id}/export?format=${format}`);
      assert.is(r.status, 200, format);
      assert.is(r.headers.get('content-disposition'), `attachment; filename="project-${project.id}-${format}.zip"`);
      return Object.fromEntries(Object.entries(unzipSync(r.bytes)).map(([name, bytes]) => [name, strFromU8(bytes)]));
    };
    const yolo = await zipOf('yolo');
    assert.is(yolo['obj.names'], 'car\nperson\nbike\n', 'one class list for every session');
    for (const s of sessions) assert.is(yolo[`obj_train_data/${s.videoId}/frame_000003.txt`], '0 0.009375 0.012500 0.015625 0.020833\n');
    assert.equal(yolo['train.txt']!.trim().split('\n').sort(), sessions.map((s) => `data/obj_train_data/${s.videoId}/frame_000003.jpg`).sort());
    const ultralytics = await zipOf('ultralytics');
    for (const s of sessions) assert.ok(ultralytics[`labels/train/${s.videoId}/frame_000003.txt`]?.startsWith('0 '));
    const voc = await zipOf('voc');
    assert.equal(voc['ImageSets/Main/default.txt']!.trim().split('\n').sort(), sessions.map((s) => `${s.videoId}/frame_000003`).sort());
    for (const s of sessions) assert.match(voc[`Annotations/${s.videoId}/frame_000003.xml`]!, /<xmin>1<\/xmin>/);
    assert.ok(JSON.parse(voc['loss.json']!), 'the zip carries its loss report');
  });

  test('a project export tells apart two sessions of the same video', async ({ t }) => {
    const { session, project, video } = await linkedSession(t.http);
    await t.http.post(`/api/sessions/${session.id}/annotations`, { frame: 1, bbox: [1, 1, 10, 10], label: 'car' });
    const closed = await t.http.patch(`/api/sessions/${session.id}`, { status: 'complete' });
    assert.ok(closed.status < 300, closed.text);
    const second = await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
    assert.is(second.status, 201, second.text);
    await t.http.post(`/api/sessions/${second.body.id}/annotations`, { frame: 1, bbox: [2, 2, 10, 10], label: 'car' });
    const res = await get(t, `/api/projects/${project.id}/export?format=voc`);
    assert.is(res.status, 200);
    const names = Object.keys(unzipSync(res.bytes)).filter((n) => n.startsWith('Annotations/')).sort();
    assert.equal(names, [session.id, second.body.id].map((id) => `Annotations/${video.id}/${id}/frame_000001.xml`).sort());
  });

  test.run();
}
