/**
 * Ultralytics train/val/test splits over real HTTP: `valFraction` and `testFraction` on
 * the session and project exports, blocks of one video or whole videos per split, the zip read
 * back by the import route, the refusals, and the OpenAPI document naming the parameters.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strFromU8, unzipSync } from 'fflate';
import { planSplits, splitOf } from '../../docs-model/formats/splits.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { createProject, createVideo, linkedSession, type ApiTestServer, type ErrorResponse, type SessionBody, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface CocoFile {
  images: Array<{ id: number; frame_id: number }>;
  annotations: Array<{ image_id: number; category_id: number; bbox: number[] }>;
  categories: Array<{ id: number; name: string }>;
}

const get = async (t: ApiTestServer, path: string) => {
  const res = await fetch(t.url + path, { headers: { authorization: `Bearer ${t.adminToken}` } });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
};

const zipFiles = async (t: ApiTestServer, path: string): Promise<Record<string, string>> => {
  const res = await get(t, path);
  assert.is(res.status, 200, `${path}: ${strFromU8(res.bytes)}`);
  assert.is(res.headers.get('content-type'), 'application/zip');
  return Object.fromEntries(Object.entries(unzipSync(res.bytes)).map(([name, bytes]) => [name, strFromU8(bytes)]));
};

const labelNames = (files: Record<string, string>): string[] => Object.keys(files).filter((n) => n.startsWith('labels/')).sort();

/** Every exported box as `frame label x y w h`, coordinates to 2 decimals, sorted. */
const boxesOf = async (t: ApiTestServer, sessionId: string): Promise<string[]> => {
  const res = await get(t, `/api/sessions/${sessionId}/export?format=coco`);
  assert.is(res.status, 200);
  const coco = JSON.parse(strFromU8(res.bytes)) as CocoFile;
  const frames = new Map(coco.images.map((i) => [i.id, i.frame_id]));
  const names = new Map(coco.categories.map((c) => [c.id, c.name]));
  return coco.annotations.map((a) => `${frames.get(a.image_id)} ${names.get(a.category_id)} ${a.bbox.map((v) => v.toFixed(2)).join(' ')}`).sort();
};

/** A session on a 100-frame video: a track from frame 60 to 90 (interpolated across the val/test edge) and boxes on 0, 75, 85, 95. */
async function populated(t: ApiTestServer): Promise<SessionBody> {
  const { session } = await linkedSession(t.http);
  const base = `/api/sessions/${session.id}`;
  assert.is((await t.http.post(`${base}/tracks`, { id: 't1', label: 'car' })).status, 201);
  const created = await t.http.post(`${base}/annotations`, [
    { id: 'k60', frame: 60, bbox: [10, 10, 50, 50], label: 'car', trackId: 't1' },
    { id: 'k90', frame: 90, bbox: [110, 30, 50, 50], label: 'car', trackId: 't1' },
    { id: 'k91', frame: 91, bbox: [110, 30, 50, 50], label: 'car', trackId: 't1', outside: true },
    ...[0, 75, 85, 95].map((frame) => ({ id: `a${frame}`, frame, bbox: [300, 200, 40, 60], label: 'person' })),
  ]);
  assert.is(created.status, 201, created.text);
  return session;
}

/** A session on `videoId` with one box on frame 3. */
async function sessionOn(t: ApiTestServer, projectId: string, videoId: string): Promise<SessionBody> {
  const s = await t.http.post<SessionBody>(`/api/projects/${projectId}/sessions`, { videoId });
  assert.is(s.status, 201, s.text);
  assert.is((await t.http.post(`/api/sessions/${s.body.id}/annotations`, { frame: 3, bbox: [1, 1, 10, 10], label: 'car' })).status, 201);
  return s.body;
}

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`Ultralytics export splits (${kind})`);
  withApiServer(test, kind);

  test('a session export splits its video into train, val and test blocks', async ({ t }) => {
    const session = await populated(t);
    const path = `/api/sessions/${session.id}/export?format=ultralytics&valFraction=0.1&testFraction=0.2`;
    const files = await zipFiles(t, path);
    // 100 frames: 0-69 train, 70-79 val, 80-99 test.
    const expected = (frame: number): string => (frame < 70 ? 'train' : frame < 80 ? 'val' : 'test');
    const names = labelNames(files);
    assert.is(names.length, 1 + 31 + 1, 'frame 0, the track on 60-90, and 95 (75 and 85 are on the track)');
    for (const name of names) {
      const [, split, file] = name.split('/');
      assert.is(split, expected(Number(/frame_(\d+)/.exec(file!)![1])), name);
    }
    assert.is(files['labels/val/frame_000075.txt']!.trim().split('\n').length, 2, 'the track box and the standalone box');
    assert.equal(Object.keys(files).filter((n) => n.startsWith('images/')).sort(), ['images/test/', 'images/train/', 'images/val/']);
    assert.match(files['data.yaml']!, /# splits: contiguous blocks of one video: frames 0-69 train, 70-79 val, 80-99 test\npath: \.\ntrain: images\/train\nval: images\/val\ntest: images\/test\n/);

    const plain = await get(t, `/api/sessions/${session.id}/export?format=ultralytics`);
    const split = await get(t, path);
    assert.is(split.headers.get('x-annosync-loss'), plain.headers.get('x-annosync-loss'), 'splitting loses nothing more');
    const report = await t.http.get<{ tracksFlattened: number }>(`${path}&report=true`);
    assert.is(report.status, 200);
    assert.is(report.body.tracksFlattened, 1);
  });

  test('fractions of 0 give the train-only export', async ({ t }) => {
    const session = await populated(t);
    const plain = await zipFiles(t, `/api/sessions/${session.id}/export?format=ultralytics`);
    const zero = await zipFiles(t, `/api/sessions/${session.id}/export?format=ultralytics&valFraction=0&testFraction=0`);
    assert.equal(zero, plain);
    assert.ok(labelNames(plain).every((n) => n.startsWith('labels/train/')));
    assert.match(plain['data.yaml']!, /train: images\/train\nval: images\/train\nnc:/);
  });

  test('exported with splits and imported back, every box is where it was', async ({ t }) => {
    const session = await populated(t);
    const zip = (await get(t, `/api/sessions/${session.id}/export?format=ultralytics&valFraction=0.15&testFraction=0.15`)).bytes;
    const { session: other } = await linkedSession(t.http);
    const res = await t.http.request<{ imported: number; frameRule: string } & ErrorResponse>('POST', `/api/sessions/${other.id}/import?format=ultralytics`, undefined, {
      headers: { 'content-type': 'application/zip', authorization: `Bearer ${t.adminToken}` },
      raw: zip,
    });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.frameRule, 'file_name_number');
    const original = await boxesOf(t, session.id);
    assert.is(res.body.imported, original.length, 'every box of every split');
    assert.equal(await boxesOf(t, other.id), original);
  });

  test('a project on several videos puts whole videos in a split, both sessions of a video in the same one', async ({ t }) => {
    const project = await createProject(t.http);
    const videos = [];
    for (let n = 0; n < 4; n++) videos.push(await createVideo(t.http, { name: `clip ${n}` }));
    assert.is((await t.http.post(`/api/projects/${project.id}/videos`, { videoIds: videos.map((v) => v.id) })).status, 200);
    const sessions = [];
    for (const v of videos) sessions.push(await sessionOn(t, project.id, v.id));
    // A second session on the first video, once the first is complete.
    assert.ok((await t.http.patch(`/api/sessions/${sessions[0]!.id}`, { status: 'complete' })).status < 300);
    const second = await sessionOn(t, project.id, videos[0]!.id);

    const fractions = { valFraction: 0.25, testFraction: 0.25 };
    const files = await zipFiles(t, `/api/projects/${project.id}/export?format=ultralytics&valFraction=0.25&testFraction=0.25`);
    const plan = planSplits(videos.map((v) => ({ videoId: v.id, frameCount: 100 })), fractions);
    const expected = [
      ...sessions.slice(1).map((s) => `labels/${splitOf(plan, s.videoId, 0)}/${s.videoId}/frame_000003.txt`),
      ...[sessions[0]!, second].map((s) => `labels/${splitOf(plan, s.videoId, 0)}/${s.videoId}/${s.id}/frame_000003.txt`),
    ].sort();
    assert.equal(labelNames(files), expected);
    assert.equal(videos.map((v) => splitOf(plan, v.id, 0)).sort(), ['test', 'train', 'train', 'val']);
    assert.match(files['data.yaml']!, /# splits: whole videos by FNV-1a hash of the video id: 2 train, 1 val, 1 test\n/);
    assert.match(files['data.yaml']!, /val: images\/val\ntest: images\/test\n/);
  });

  test('a project whose sessions are all on one video splits that video into blocks', async ({ t }) => {
    const { project, session } = await linkedSession(t.http);
    assert.is((await t.http.post(`/api/sessions/${session.id}/annotations`, [5, 50, 95].map((frame) => ({ frame, bbox: [1, 1, 10, 10], label: 'car' })))).status, 201);
    const files = await zipFiles(t, `/api/projects/${project.id}/export?format=ultralytics&valFraction=0.5`);
    const v = session.videoId;
    assert.equal(labelNames(files), [`labels/train/${v}/frame_000005.txt`, `labels/val/${v}/frame_000050.txt`, `labels/val/${v}/frame_000095.txt`]);
    assert.match(files['data.yaml']!, /val: images\/val\nnc:/, 'no test line without a test split');
  });

  test('fractions with another format, or out of range, are 400 naming the parameter', async ({ t }) => {
    const { project, session } = await linkedSession(t.http);
    for (const base of [`/api/sessions/${session.id}/export`, `/api/projects/${project.id}/export`]) {
      const cases: [string, string, RegExp][] = [
        ['format=coco&valFraction=0.1', 'valFraction', /format=ultralytics only, not coco/],
        ['format=yolo&testFraction=0.1', 'testFraction', /format=ultralytics only, not yolo/],
        ['format=voc&valFraction=0', 'valFraction', /format=ultralytics only/],
        ['format=ultralytics&valFraction=1', 'valFraction', /below 1/],
        ['format=ultralytics&testFraction=-0.1', 'testFraction', /decimal number/],
        ['format=ultralytics&valFraction=abc', 'valFraction', /decimal number/],
        ['format=ultralytics&valFraction=0.6&testFraction=0.4', 'testFraction', /valFraction \+ testFraction must be below 1/],
      ];
      for (const [query, field, message] of cases) {
        const res = await t.http.get<ErrorResponse>(`${base}?${query}`);
        assert.is(res.status, 400, `${query}: ${res.text}`);
        assert.is(res.body.error.code, 'invalid_query');
        assert.match(res.body.error.message, new RegExp(`parameter ${field}: `), query);
        assert.match(res.body.error.message, message, query);
        assert.is(res.body.error.details?.[0]?.field, field);
      }
    }
  });

  test('the OpenAPI document describes both parameters on both exports', async ({ t }) => {
    const doc = await t.http.get<{ paths: Record<string, { get: { parameters: Array<{ name: string; in: string; description?: string }> } }> }>('/api/openapi.json');
    for (const path of ['/api/sessions/{sessionId}/export', '/api/projects/{projectId}/export']) {
      const params = doc.body.paths[path]!.get.parameters;
      for (const name of ['valFraction', 'testFraction']) {
        const p = params.find((x) => x.name === name && x.in === 'query');
        assert.ok(p, `${path} ${name}`);
        assert.match(p.description ?? '', /Ultralytics only/);
      }
    }
  });

  test.run();
}
