/**
 * MOTChallenge over real HTTP: export (session and project, keyframesOnly, loss report with idMap),
 * import of a zip and of a bare gt.txt (text/plain), round trip, boxes past the image edge kept and
 * flagged, dry run, merge and replace, located 422 refusals that leave the session unchanged.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strFromU8, unzipSync } from 'fflate';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, type ApiTestServer, type ErrorResponse, type SessionBody, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface ImportAnswer {
  format: string;
  frameRule: string;
  imported: number;
  updated: number;
  skipped: number;
  deleted: number;
  tracks: { created: number; updated: number; deleted: number };
  warnings: Array<{ code: string; place: string }>;
}

interface NativeFile {
  tracks: Array<Record<string, unknown> & { id: string }>;
  annotations: Array<Record<string, unknown> & { id: string; frame: number; bbox: number[]; attributes: Record<string, unknown> }>;
}

const get = async (t: ApiTestServer, path: string) => {
  const res = await fetch(t.url + path, { headers: { authorization: `Bearer ${t.adminToken}` } });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
};

const post = (t: ApiTestServer, path: string, type: string, raw: string | Uint8Array) =>
  t.http.request<ImportAnswer & ErrorResponse>('POST', path, undefined, { headers: { 'content-type': type, authorization: `Bearer ${t.adminToken}` }, raw });

const nativeOf = async (t: ApiTestServer, sessionId: string): Promise<NativeFile> =>
  JSON.parse(strFromU8((await get(t, `/api/sessions/${sessionId}/export?format=json`)).bytes)) as NativeFile;

/** One track (keyframes 0 and 10, outside from 20) and one lone box. */
async function populated(t: ApiTestServer): Promise<SessionBody> {
  const { session } = await linkedSession(t.http);
  const base = `/api/sessions/${session.id}`;
  assert.is((await t.http.post(`${base}/tracks`, { id: 't1', label: 'car' })).status, 201);
  const created = await t.http.post(`${base}/annotations`, [
    { id: 'k0', frame: 0, bbox: [10, 10, 50, 50], label: 'car', trackId: 't1', attributes: { speed: 3 } },
    { id: 'k10', frame: 10, bbox: [110, 10, 50, 50], label: 'car', trackId: 't1' },
    { id: 'k20', frame: 20, bbox: [110, 10, 50, 50], label: 'car', trackId: 't1', outside: true },
    { id: 'a1', frame: 5, bbox: [300, 200, 40, 60], label: 'person', status: 'validated' },
  ]);
  assert.is(created.status, 201, created.text);
  return session;
}

/** gt.txt lines as [frame, id, x, y, w, h] per row. */
const rowsOf = (text: string): number[][] =>
  text
    .trim()
    .split('\n')
    .map((l) => l.split(',').slice(0, 6).map(Number));

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`MOTChallenge over REST (${kind})`);
  withApiServer(test, kind);

  test('a MOT export is a CVAT MOT 1.1 zip with 1-based frames, one id per track and the idMap in the loss report', async ({ t }) => {
    const session = await populated(t);
    const res = await get(t, `/api/sessions/${session.id}/export?format=mot`);
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-type'), 'application/zip');
    assert.match(res.headers.get('content-disposition') ?? '', `session-${session.id}-mot.zip`);
    assert.match(res.headers.get('x-annosync-loss') ?? '', /attributes-dropped=\d+/);
    const files = unzipSync(res.bytes);
    assert.equal(Object.keys(files).sort(), ['gt/gt.txt', 'gt/labels.txt', 'loss.json']);
    const rows = rowsOf(strFromU8(files['gt/gt.txt']!));
    assert.is(rows.length, 21, '20 track frames and the lone box');
    assert.equal(rows[0], [1, 1, 10, 10, 50, 50]);
    assert.equal(rows.find((r) => r[0] === 6 && r[1] === 2), [6, 2, 300, 200, 40, 60]);
    const loss = JSON.parse(strFromU8(files['loss.json']!)) as { idMap: unknown };
    assert.equal(loss.idMap, { tracks: { t1: 1 }, boxes: { a1: 2 } });
    const report = await t.http.get<{ idMap: unknown; format: string }>(`/api/sessions/${session.id}/export?format=mot&report=true`);
    assert.is(report.status, 200);
    assert.equal(report.body.idMap, loss.idMap);

    const keyframes = unzipSync((await get(t, `/api/sessions/${session.id}/export?format=mot&keyframesOnly=true`)).bytes);
    assert.equal(rowsOf(strFromU8(keyframes['gt/gt.txt']!)).map((r) => r[0]), [1, 6, 11]);
  });

  test('export then import into another session gives back the same tracks and boxes per frame', async ({ t }) => {
    const session = await populated(t);
    const zip = (await get(t, `/api/sessions/${session.id}/export?format=mot`)).bytes;
    const { session: other } = await linkedSession(t.http);
    const imported = await post(t, `/api/sessions/${other.id}/import?format=mot&mode=replace`, 'application/zip', zip);
    assert.is(imported.status, 200, imported.text);
    assert.is(imported.body.format, 'mot');
    assert.is(imported.body.tracks.created, 2, 'the track and the lone box (an id of its own)');
    const again = unzipSync((await get(t, `/api/sessions/${other.id}/export?format=mot`)).bytes);
    // The lone box comes back as a one-box track, so within a frame the lines may come in another order.
    const sorted = (bytes: Uint8Array) => strFromU8(bytes).trim().split('\n').sort();
    assert.equal(sorted(again['gt/gt.txt']!), sorted(unzipSync(zip)['gt/gt.txt']!));
    const content = await nativeOf(t, other.id);
    assert.equal(content.annotations.filter((a) => !a.outside).map((a) => a.frame).sort((a, b) => a - b).slice(0, 3), [0, 1, 2]);
  });

  test('a bare gt.txt keeps boxes past the image edge as written, flagged; dry run changes nothing', async ({ t }) => {
    const { session } = await linkedSession(t.http);
    // 640 × 480 video: the first box reaches 20 px past the left edge, the other is inside.
    const gt = '1,7,-20,100,60,120,1,1,1\r\n2,7,-18,100,60,120,1,1,1\r\n\r\n1,8,300,200,40,80,0,1,0.4,\r\n';
    const dry = await post(t, `/api/sessions/${session.id}/import?format=mot&dryRun=true`, 'text/plain', gt);
    assert.is(dry.status, 200, dry.text);
    assert.is(dry.body.imported, 5, 'three boxes and an outside keyframe ending each track');
    assert.equal((await nativeOf(t, session.id)).annotations, []);

    const res = await post(t, `/api/sessions/${session.id}/import?format=mot`, 'text/plain; charset=utf-8', gt);
    assert.is(res.status, 200, res.text);
    const past = res.body.warnings.find((w) => w.code === 'box_past_edge');
    assert.ok(past, 'the answer flags the box past the edge');
    assert.is(past!.place, 'gt.txt:1');
    assert.ok(res.body.warnings.some((w) => w.code === 'mot_ignored'));
    const content = await nativeOf(t, session.id);
    const edge = content.annotations.find((a) => a.frame === 0 && a.bbox[0]! < 0)!;
    assert.equal(edge.bbox, [-20, 100, 60, 120], 'not clipped');
    assert.is(edge.attributes.pastImageEdge, true);
    const ignored = content.annotations.find((a) => a.bbox[0] === 300)!;
    assert.equal(ignored.attributes, { ignored: true, visibility: 0.4 });

    const merged = await post(t, `/api/sessions/${session.id}/import?format=mot&mode=merge`, 'text/plain', gt);
    assert.is(merged.status, 200, merged.text);
    assert.equal([merged.body.imported, merged.body.updated], [0, 0], 'the same file merged again changes nothing');
  });

  test('the other formats still refuse or clip a box past the edge', async ({ t }) => {
    const { session } = await linkedSession(t.http);
    const coco = {
      images: [{ id: 1, file_name: 'frame_000000.jpg', width: 640, height: 480, frame_id: 0 }],
      categories: [{ id: 1, name: 'car' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [-20, 100, 60, 120] }],
    };
    const res = await post(t, `/api/sessions/${session.id}/import?format=coco`, 'application/json', JSON.stringify(coco));
    assert.is(res.status, 200, res.text);
    assert.equal((await nativeOf(t, session.id)).annotations[0]!.bbox, [0, 100, 40, 120]);
  });

  test('a bad gt.txt is refused with every problem at its line and field, and nothing changes', async ({ t }) => {
    const session = await populated(t);
    const before = await nativeOf(t, session.id);
    const gt = ['1,1,10,10,50,50,1,1,1', '2,1,ten,10,50,50,1,1,1', '0,2,10,10,50,50,1,1,1', '3,3,10,10,0,50,1,1,1', '1,1,12,10,50,50,1,1,1', '101,4,1,1,5,5,1,1,1', '4,5,700,10,50,50,1,1,1'].join('\n');
    const res = await post(t, `/api/sessions/${session.id}/import?format=mot&mode=replace`, 'text/plain', gt);
    assert.is(res.status, 422, res.text);
    assert.is(res.body.error.code, 'import_invalid');
    const places = (res.body.error.details as unknown as Array<{ code: string; place: string }>).map((d) => `${d.code}@${d.place}`);
    assert.equal(places, [
      'bad_number@gt.txt:2:x',
      'frame_out_of_range@gt.txt:3:frame',
      'bad_bbox@gt.txt:4:w',
      'duplicate_id_frame@gt.txt:5:id',
      'frame_out_of_range@gt.txt:6:frame',
      'box_outside@gt.txt:7:x',
    ]);
    assert.equal(await nativeOf(t, session.id), before);
  });

  test('a project export in MOT puts each video in its folder with ids numbered on', async ({ t }) => {
    const session = await populated(t);
    const res = await get(t, `/api/projects/${session.projectId}/export?format=mot`);
    assert.is(res.status, 200);
    const files = unzipSync(res.bytes);
    const gt = Object.keys(files).filter((n) => n.endsWith('gt/gt.txt'));
    assert.equal(gt, [`${session.videoId}/gt/gt.txt`]);
    assert.is(rowsOf(strFromU8(files[gt[0]!]!)).length, 21);
  });

  test.run();
}
