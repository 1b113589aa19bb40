/**
 * The `annosync` command as a child process against a real server (PGlite, and Postgres with
 * DATABASE_URL), with an admin token the server signed: export (byte-identical to the REST
 * export), import (a refusal prints located problems and exits 1; MOT as a zip or a bare gt.txt), run (CSV detections uploaded in
 * chunks, followed over SSE, completed, evaluation printed) and the exit codes of server errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../../tools/databases.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { linkedSession, startApiServer, type ApiTestServer } from '../../tools/api.ts';
import { annosync, oneCleanLine } from './helpers.ts';

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  dir: string;
  env: Record<string, string>;
  ids: { project: string; video: string; session: string; other: string };
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`annosync against a server (${kind})`);

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
    ctx.dir = mkdtempSync(path.join(tmpdir(), 'annosync-cli-'));
    ctx.env = { ANNOSYNC_URL: ctx.t.url, ANNOSYNC_TOKEN: ctx.t.adminToken };
    const { project, video, session } = await linkedSession(ctx.t.http);
    const other = await ctx.t.http.post<{ id: string }>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
    ctx.ids = { project: project.id, video: video.id, session: session.id, other: other.body.id };
    const boxes = [
      { frame: 0, bbox: [10, 10, 50, 50], label: 'car' },
      { frame: 1, bbox: [100, 100, 40, 80], label: 'person' },
      { frame: 2, bbox: [200, 50, 60, 60], label: 'car' },
    ];
    const res = await ctx.t.http.post(`/api/sessions/${session.id}/annotations`, boxes);
    assert.is(res.status, 201, res.text);
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
    rmSync(ctx.dir, { recursive: true, force: true });
  });

  test('export writes the same bytes as the REST export, and --json describes the file', async ({ t, dir, env, ids }) => {
    const file = path.join(dir, 'gt.json');
    const r = await annosync(['export', '--session', ids.session, '--format', 'coco', '-o', file, '--json'], env);
    assert.is(r.code, 0, r.stderr);
    const rest = await fetch(`${t.url}/api/sessions/${ids.session}/export?format=coco`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const expected = Buffer.from(await rest.arrayBuffer());
    assert.ok(readFileSync(file).equals(expected), 'byte-identical');
    assert.equal(JSON.parse(r.stdout), { file, bytes: expected.length, format: 'coco', release: null, loss: rest.headers.get('x-annosync-loss') });
    const zip = await annosync(['export', '--session', ids.session, '--format', 'yolo', '-o', '-'], env);
    assert.is(zip.code, 0, zip.stderr);
    assert.ok(zip.stdout.startsWith('PK'), 'a zip on stdout');
  });

  test('import merges a file; a refused file prints each located problem and exits 1', async ({ dir, env, ids }) => {
    const file = path.join(dir, 'gt.json');
    const ok = await annosync(['import', '--session', ids.other, '--format', 'coco', file], env);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^imported 3, updated 0/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ images: [{ id: 1, file_name: 'frame_000000.jpg', width: 640, height: 480 }], annotations: [{ id: 1, image_id: 1, category_id: 9, bbox: [0, 0, 'x', 5] }], categories: [] }));
    const r = await annosync(['import', '--session', ids.other, '--format', 'coco', bad], env);
    assert.is(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.length >= 2, r.stderr);
    assert.ok(lines.slice(0, -1).every((l) => l.startsWith(`${bad}: /annotations/0`)), r.stderr);
    assert.match(lines.at(-1)!, /^annosync: .*bad\.json was not imported: \d+ problem\(s\)$/);
    assert.not.match(r.stderr, /\n\s+at /);
  });

  test('MOT: export writes the REST export\'s zip; import takes that zip, and a bare gt.txt as text', async ({ t, dir, env, ids }) => {
    const zip = path.join(dir, 'gt-mot.zip');
    const r = await annosync(['export', '--session', ids.session, '--format', 'mot', '-o', zip], env);
    assert.is(r.code, 0, r.stderr);
    const rest = await fetch(`${t.url}/api/sessions/${ids.session}/export?format=mot`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    assert.ok(readFileSync(zip).equals(Buffer.from(await rest.arrayBuffer())), 'byte-identical');
    const fresh = async () => (await t.http.post<{ id: string }>(`/api/projects/${ids.project}/sessions`, { videoId: ids.video })).body.id;
    const fromZip = await annosync(['import', '--session', await fresh(), '--format', 'mot', zip], env);
    assert.is(fromZip.code, 0, fromZip.stderr);
    // Each MOT id is a track: the three boxes come back as three one-frame tracks (a keyframe and the
    // outside one after it).
    assert.ok(/^imported 6, updated 0.*tracks \+3 /.test(fromZip.stdout), fromZip.stdout);
    // frame,id,x,y,w,h,not_ignored,class_id,visibility: one object on frames 1-2; class 1 is MOT16's
    // pedestrian, a bare gt.txt having no labels.txt (docs/formats.md).
    const txt = path.join(dir, 'gt.txt');
    writeFileSync(txt, '1,1,10,10,50,50,1,1,1\n2,1,12,10,50,50,1,1,1\n');
    const fromText = await annosync(['import', '--session', await fresh(), '--format', 'mot', txt], env);
    assert.is(fromText.code, 0, fromText.stderr);
    assert.ok(/^imported 3, updated 0.*tracks \+1 .*labels added: pedestrian/.test(fromText.stdout), fromText.stdout);
  });

  test('run uploads CSV detections in chunks, completes the run and prints its evaluation', async ({ t, dir, env, ids }) => {
    const csv = path.join(dir, 'dets.csv');
    writeFileSync(
      csv,
      ['frame,label,x,y,w,h,score,trackId', '0,car,10,10,50,50,0.9,1', '1,person,100,100,40,80,0.8,2', '2,car,400,400,20,20,0.7,', '2,person,200,50,60,60,0.6,'].join('\n'),
    );
    const r = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', 'yolo@8.1', '--detections', csv, '--chunk-size', '1', '--json'], env);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { run: { id: string }; detections: number; evaluation: { overall: { tp: number; fp: number; fn: number }; tracking?: unknown } };
    assert.is(out.detections, 4);
    assert.equal([out.evaluation.overall.tp, out.evaluation.overall.fp, out.evaluation.overall.fn], [2, 2, 1]);
    assert.ok(out.evaluation.tracking, 'the trackId column reached the server: the run is scored as a tracker too');
    const run = await t.http.get<{ status: string; detectionCount: number; model: { name: string; version: string } }>(`/api/test-runs/${out.run.id}`);
    assert.equal([run.body.status, run.body.detectionCount, run.body.model], ['completed', 4, { name: 'yolo', version: '8.1' }]);
    const evaluation = await t.http.get<{ overall: unknown }>(`/api/test-runs/${out.run.id}/evaluation`);
    assert.equal(out.evaluation.overall, evaluation.body.overall);

    const human = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', 'yolo@8.2', '--detections', csv], env);
    assert.is(human.code, 0, human.stderr);
    assert.match(human.stdout, /label\s+tp\s+fp\s+fn\s+precision\s+recall\s+f1\s+ap50\s+ap/);
    assert.match(human.stdout, /\(overall\)\s+2\s+2\s+1\s+0\.5000/);
  });

  test('run refuses a bad CSV by line before creating anything; a box the server refuses fails the run, exit 2', async ({ t, dir, env, ids }) => {
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'frame,label,x,y,w,h,score\n0,car,1,1,5,5,0.5\n0,car,1,1,5,5,high\n');
    const before = await t.http.get<{ items: unknown[] }>(`/api/projects/${ids.project}/test-runs?limit=500`);
    const r = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', 'm@1', '--detections', bad], env);
    assert.is(r.code, 2);
    assert.ok(oneCleanLine(r.stderr) && r.stderr.includes(`${bad}:3:score`), r.stderr);
    const after = await t.http.get<{ items: unknown[] }>(`/api/projects/${ids.project}/test-runs?limit=500`);
    assert.is(after.body.items.length, before.body.items.length, 'no run was created');

    const outside = path.join(dir, 'outside.csv');
    writeFileSync(outside, 'frame,label,x,y,w,h,score\n5000,car,1,1,5,5,0.5\n');
    const refused = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', 'm@2', '--detections', outside, '--json'], env);
    assert.is(refused.code, 2);
    assert.match(refused.stderr, /upload detections 0…0: 422 /);
    const runs = await t.http.get<{ items: Array<{ status: string; model: { version: string } }> }>(`/api/projects/${ids.project}/test-runs?limit=500`);
    assert.equal(runs.body.items.filter((x) => x.model.version === '2').map((x) => x.status), ['failed']);
  });

  test('a bad token or a session that does not exist is one line and exit 2', async ({ t, dir, ids }) => {
    const file = path.join(dir, 'x.json');
    const badToken = await annosync(['export', '--session', ids.session, '--format', 'coco', '-o', file], { ANNOSYNC_URL: t.url, ANNOSYNC_TOKEN: 'not-a-jwt' });
    assert.is(badToken.code, 2);
    assert.ok(oneCleanLine(badToken.stderr) && badToken.stderr.includes('401') && badToken.stderr.includes('ANNOSYNC_TOKEN'), badToken.stderr);
    const missing = await annosync(['export', '--session', 'nope', '--format', 'coco', '-o', file, '--url', t.url, '--token', t.adminToken]);
    assert.is(missing.code, 2);
    assert.ok(oneCleanLine(missing.stderr) && missing.stderr.includes('404'), missing.stderr);
  });

  test.run();
}
