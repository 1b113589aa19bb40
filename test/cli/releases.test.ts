/**
 * `annosync release`, `export --release`, `run --release` and `gate` as child processes against a
 * real server, on each database: a session release and a project release (table and --json), a
 * taken name (409, one line, exit 2), exports of a release byte-identical to the live export when
 * it was made, two runs scored against one release, and the gate's exit codes — 1 when head drops
 * more than allowed (overall or per label), 0 within it, 2 for runs on different releases — and a
 * tracker's runs, printed with their tracking metrics and gated on HOTA, MOTA or IDF1; `compare` of
 * both kinds of runs (every figure side by side, --json the server's summary).
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
  ids: { project: string; video: string; session: string; second: string };
  runs: { base: string; head: string };
}

const rest = async (t: ApiTestServer, p: string): Promise<Buffer> => {
  const res = await fetch(t.url + p, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.is(res.status, 200, p);
  return Buffer.from(await res.arrayBuffer());
};

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`annosync release, export --release, run --release and gate (${kind})`);

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
    ctx.dir = mkdtempSync(path.join(tmpdir(), 'annosync-cli-rel-'));
    ctx.env = { ANNOSYNC_URL: ctx.t.url, ANNOSYNC_TOKEN: ctx.t.adminToken };
    const { project, video, session } = await linkedSession(ctx.t.http);
    const second = await ctx.t.http.post<{ id: string }>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
    ctx.ids = { project: project.id, video: video.id, session: session.id, second: second.body.id };
    const res = await ctx.t.http.post(`/api/sessions/${session.id}/annotations`, [
      { id: 'A', frame: 0, bbox: [10, 10, 50, 50], label: 'car' },
      { id: 'B', frame: 1, bbox: [100, 100, 40, 80], label: 'person' },
      { id: 'C', frame: 2, bbox: [200, 50, 60, 60], label: 'car' },
    ]);
    assert.is(res.status, 201, res.text);
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
    rmSync(ctx.dir, { recursive: true, force: true });
  });

  test('release a session (table, then --json) and a project; a taken name is one line and exit 2', async ({ t, env, ids }) => {
    const live = await rest(t, `/api/sessions/${ids.session}/export?format=coco`);
    const human = await annosync(['release', '--session', ids.session, '--name', 'v1', '--note', 'first cut'], env);
    assert.is(human.code, 0, human.stderr);
    assert.match(human.stdout, /session\s+release\s+id\s+annotations\s+tracks\s+boxes\s+contentHash/);
    assert.match(human.stdout, new RegExp(`${ids.session}\\s+v1\\s+\\S+\\s+3\\s+0\\s+3\\s+sha256:[0-9a-f]{64}`));
    const json = await annosync(['release', '--session', ids.session, '--name', 'v1b', '--json'], env);
    assert.is(json.code, 0, json.stderr);
    const made = JSON.parse(json.stdout) as { id: string; name: string; contentHash: string; counts: { annotations: number } };
    assert.equal([made.name, made.counts.annotations], ['v1b', 3]);
    const rows = await t.http.get<{ items: Array<{ id: string; contentHash: string }> }>(`/api/sessions/${ids.session}/releases`);
    assert.equal(rows.body.items.map((r) => r.contentHash), [made.contentHash, made.contentHash], 'same content, same hash');

    const taken = await annosync(['release', '--session', ids.session, '--name', 'v1'], env);
    assert.is(taken.code, 2);
    assert.ok(oneCleanLine(taken.stderr) && taken.stderr.includes('409') && taken.stderr.includes('release_name_taken'), taken.stderr);

    const project = await annosync(['release', '--project', ids.project, '--name', 'p1', '--json'], env);
    assert.is(project.code, 0, project.stderr);
    const batch = JSON.parse(project.stdout) as { batchId: string; releases: Array<{ sessionId: string }> };
    assert.equal(batch.releases.map((r) => r.sessionId).sort(), [ids.session, ids.second].sort());
    // The live export has not moved: the release did not change the session.
    assert.ok((await rest(t, `/api/sessions/${ids.session}/export?format=coco`)).equals(live));
  });

  test('export --release writes the release, byte-identical to the live export when it was made; project releases too', async ({ t, dir, env, ids }) => {
    const liveYolo = await rest(t, `/api/sessions/${ids.session}/export?format=yolo`);
    const liveProject = await rest(t, `/api/projects/${ids.project}/export?format=json`);
    assert.is((await annosync(['release', '--session', ids.session, '--name', 'frozen'], env)).code, 0);
    assert.is((await annosync(['release', '--project', ids.project, '--name', 'frozen-all'], env)).code, 0);
    assert.is((await t.http.post(`/api/sessions/${ids.session}/annotations`, { id: 'later', frame: 3, bbox: [1, 1, 9, 9], label: 'bike' })).status, 201);
    const file = path.join(dir, 'frozen.zip');
    const r = await annosync(['export', '--session', ids.session, '--format', 'yolo', '--release', 'frozen', '-o', file, '--json'], env);
    assert.is(r.code, 0, r.stderr);
    assert.ok(readFileSync(file).equals(liveYolo), 'the release exports as the session did');
    assert.equal((JSON.parse(r.stdout) as { release: string }).release, 'frozen');
    const all = path.join(dir, 'all.json');
    const p = await annosync(['export', '--project', ids.project, '--format', 'json', '--release', 'frozen-all', '-o', all], env);
    assert.is(p.code, 0, p.stderr);
    assert.ok(readFileSync(all).equals(liveProject), 'the project release exports as the project did');
    assert.not.ok((await rest(t, `/api/sessions/${ids.session}/export?format=yolo`)).equals(liveYolo), 'the live session moved on');
    assert.is((await t.http.delete(`/api/sessions/${ids.session}/annotations/later`)).status, 204);
    const missing = await annosync(['export', '--session', ids.session, '--format', 'coco', '--release', 'nope', '-o', file], env);
    assert.is(missing.code, 2);
    assert.ok(oneCleanLine(missing.stderr) && missing.stderr.includes("no release named 'nope'"), missing.stderr);
  });

  test('run --release scores two runs against one release; gate exits 1 past the allowed drop, 0 within it', async (ctx) => {
    const { dir, env, ids } = ctx;
    // base finds A, B and C; head misses C (car recall 1 → 1/2).
    const base = path.join(dir, 'base.csv');
    writeFileSync(base, 'frame,label,x,y,w,h,score\n0,car,10,10,50,50,0.9\n1,person,100,100,40,80,0.8\n2,car,200,50,60,60,0.7\n');
    const head = path.join(dir, 'head.csv');
    writeFileSync(head, 'frame,label,x,y,w,h,score\n0,car,10,10,50,50,0.9\n1,person,100,100,40,80,0.8\n');
    const run = async (file: string, version: string) => {
      const r = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', `det@${version}`, '--detections', file, '--release', 'v1', '--json'], env);
      assert.is(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { run: { id: string }; evaluation: { overall: { tp: number }; groundTruth: { releaseId: string; contentHash: string } } };
    };
    const [b, h] = [await run(base, '1'), await run(head, '2')];
    const v1 = (await ctx.t.http.get<{ items: Array<{ id: string; name: string; contentHash: string }> }>(`/api/sessions/${ids.session}/releases`)).body.items.find((r) => r.name === 'v1')!;
    assert.equal([b.evaluation.groundTruth.releaseId, h.evaluation.groundTruth.releaseId, h.evaluation.groundTruth.contentHash], [v1.id, v1.id, v1.contentHash]);
    assert.equal([b.evaluation.overall.tp, h.evaluation.overall.tp], [3, 2]);
    ctx.runs = { base: b.run.id, head: h.run.id };

    const failed = await annosync(['gate', '--run', h.run.id, '--baseline', b.run.id, '--metric', 'recall', '--max-drop', '0.1'], env);
    assert.is(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /label\s+base recall\s+head recall\s+delta/);
    assert.match(failed.stdout, /lost 1 true positive\(s\) on 1 frame\(s\); gained 0 on 0/);
    assert.ok(oneCleanLine(failed.stderr) && /gate failed: recall dropped by more than 0\.1: overall -0\.33/.test(failed.stderr), failed.stderr);

    const passed = await annosync(['gate', '--run', h.run.id, '--baseline', b.run.id, '--metric', 'recall', '--max-drop', '0.5'], env);
    assert.is(passed.code, 0, passed.stderr);
    assert.match(passed.stdout, /gate passed/);
    // Per label, car dropped by 1/2: past 0.4 though the overall drop (1/3) is within it.
    const perLabel = await annosync(['gate', '--run', h.run.id, '--baseline', b.run.id, '--metric', 'recall', '--max-drop', '0.4', '--per-label', '--json'], env);
    assert.is(perLabel.code, 1, perLabel.stderr);
    const verdict = JSON.parse(perLabel.stdout) as { verdict: { passed: boolean; failures: Array<{ scope: string }> } };
    assert.equal([verdict.verdict.passed, verdict.verdict.failures.map((f) => f.scope)], [false, ['car']]);

    // compare decides nothing: every figure side by side, the rates' deltas per label; --json is the server's summary.
    const compared = await annosync(['compare', '--base', b.run.id, '--head', h.run.id], env);
    assert.is(compared.code, 0, compared.stderr);
    assert.ok(compared.stdout.startsWith(`run ${h.run.id} (head) against run ${b.run.id} (base), both on release ${v1.id} (${v1.contentHash})`), compared.stdout);
    assert.match(compared.stdout, /metric\s+base\s+head\s+delta\n(.+\n){3}recall\s+1\s+0\.6667\s+-0\.3333\n/);
    assert.match(compared.stdout, /\ntp\s+3\s+2\s+-1\nfp\s+0\s+0\s+0\nfn\s+0\s+1\s+\+1\n/);
    assert.match(compared.stdout, /lost 1 true positive\(s\) on 1 frame\(s\); gained 0 on 0/);
    assert.match(compared.stdout, /per label:\nlabel\s+Δap50\s+Δap\s+Δprecision\s+Δrecall\s+Δf1\ncar\s+\S+\s+\S+\s+0\s+-0\.5000\s+\S+\nperson\s+0\s+0\s+0\s+0\s+0/);
    assert.not.match(compared.stdout, /tracking/, 'two detectors: no tracking table');
    const comparedJson = await annosync(['compare', '--base', b.run.id, '--head', h.run.id, '--json'], env);
    assert.is(comparedJson.code, 0, comparedJson.stderr);
    const summary = await rest(ctx.t, `/api/test-runs/compare?base=${b.run.id}&head=${h.run.id}&summary=true`);
    assert.equal(JSON.parse(comparedJson.stdout), JSON.parse(summary.toString()));

    // A floor needs no baseline: head's recall is 2/3 overall, 1/2 for car.
    const floor = await annosync(['gate', '--run', h.run.id, '--metric', 'recall', '--min', '0.6'], env);
    assert.is(floor.code, 0, floor.stderr);
    assert.match(floor.stdout, /label\s+recall\s+min\n\(overall\)\s+0\.6667\s+0\.6000/);
    assert.match(floor.stdout, /gate passed: recall at least 0\.6 overall/);
    const floorPerLabel = await annosync(['gate', '--run', h.run.id, '--metric', 'recall', '--min', '0.6', '--per-label'], env);
    assert.is(floorPerLabel.code, 1);
    assert.ok(oneCleanLine(floorPerLabel.stderr) && floorPerLabel.stderr.includes('gate failed: recall below 0.6: car 0.5000'), floorPerLabel.stderr);
    // Both at once: each failure named, in one line; --json holds both verdicts.
    const both = await annosync(['gate', '--run', h.run.id, '--baseline', b.run.id, '--metric', 'recall', '--max-drop', '0.1', '--min', '0.7', '--json'], env);
    assert.is(both.code, 1);
    const bothJson = JSON.parse(both.stdout) as { verdict: { passed: boolean }; floor: { passed: boolean; failures: Array<{ scope: string; value: number }> } };
    assert.equal([bothJson.verdict.passed, bothJson.floor.passed, bothJson.floor.failures.map((f) => f.scope)], [false, false, ['overall']]);
    assert.ok(/gate failed: recall dropped by more than 0\.1: overall -0\.3333; recall below 0\.7: overall 0\.6667/.test(both.stderr), both.stderr);
  });

  test('gate on runs of different releases is one line and exit 2 (409 naming both)', async ({ dir, env, ids, runs }) => {
    const other = path.join(dir, 'other.csv');
    writeFileSync(other, 'frame,label,x,y,w,h,score\n0,car,10,10,50,50,0.9\n');
    // No --release: the server makes an auto-<timestamp> release for the run.
    const r = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', 'det@3', '--detections', other, '--json'], env);
    assert.is(r.code, 0, r.stderr);
    const made = (JSON.parse(r.stdout) as { run: { id: string } }).run.id;
    const g = await annosync(['gate', '--run', made, '--baseline', runs.base], env);
    assert.is(g.code, 2);
    assert.ok(oneCleanLine(g.stderr) && g.stderr.includes('409 different_releases'), g.stderr);
    const human = await annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.session, '--model', 'det@4', '--detections', other], env);
    assert.is(human.code, 0, human.stderr);
    assert.match(human.stderr, /on release auto-\d{4}-\d\d-\d\dT\S+ \(made now\)/);
    assert.match(human.stdout, /against release \S+ \(sha256:[0-9a-f]{64}\)/);
  });

  test('a tracker is scored and gated on its tracking metrics: run prints them, gate --metric hota fails on an identity switch', async ({ t, dir, env, ids, runs }) => {
    // One car track on frames 0-3 of the second session (keyframes 0 and 3, gone from 4).
    const s = `/api/sessions/${ids.second}`;
    assert.is((await t.http.post(`${s}/tracks`, { id: 'car-1', label: 'car' })).status, 201);
    const keyframes = await t.http.post(`${s}/annotations`, [
      { frame: 0, bbox: [10, 10, 50, 50], label: 'car', trackId: 'car-1' },
      { frame: 3, bbox: [10, 10, 50, 50], label: 'car', trackId: 'car-1' },
      { frame: 4, bbox: [10, 10, 50, 50], label: 'car', trackId: 'car-1', outside: true },
    ]);
    assert.is(keyframes.status, 201, keyframes.text);
    assert.is((await annosync(['release', '--session', ids.second, '--name', 'tracks-v1'], env)).code, 0);
    const tracker = (name: string, ids: string[] | null) => {
      const file = path.join(dir, name);
      const header = ids ? 'frame,label,x,y,w,h,score,trackId' : 'frame,label,x,y,w,h,score';
      writeFileSync(file, [header, ...[0, 1, 2, 3].map((f) => `${f},car,10,10,50,50,0.9${ids ? `,${ids[f]}` : ''}`)].join('\n') + '\n');
      return file;
    };
    const run = async (file: string, version: string, json = true) =>
      annosync(['run', '--project', ids.project, '--video', ids.video, '--session', ids.second, '--model', `tracker@${version}`, '--detections', file, '--release', 'tracks-v1', ...(json ? ['--json'] : [])], env);
    // base follows the car with one id; head switches to another id on frame 2 (MOTA 3/4, IDF1 1/2).
    const base = await run(tracker('base-tracks.csv', ['7', '7', '7', '7']), '1', false);
    assert.is(base.code, 0, base.stderr);
    assert.match(base.stdout, /tracking \(CLEAR MOT and identity at IoU 0\.5, HOTA over α 0\.05…0\.95\):\nlabel\s+mota\s+motp\s+idf1\s+hota\s+deta\s+assa\s+loca\s+idsw\s+frag\s+mt\s+pt\s+ml/);
    assert.match(base.stdout, /\(overall\)\s+1\s+1\s+1\s+1\s+1\s+1\s+1\s+0\s+0\s+1\s+0\s+0/);
    const head = await run(tracker('head-tracks.csv', ['7', '7', '8', '8']), '2');
    assert.is(head.code, 0, head.stderr);
    const headRun = JSON.parse(head.stdout) as { run: { id: string }; evaluation: { tracking: { overall: { mota: number; idf1: number; idSwitches: number } } } };
    assert.equal(headRun.evaluation.tracking.overall, { ...headRun.evaluation.tracking.overall, mota: 0.75, idf1: 0.5, idSwitches: 1 });
    const baseId = (JSON.parse((await run(tracker('base-again.csv', ['7', '7', '7', '7']), '1b')).stdout) as { run: { id: string } }).run.id;

    const compared = await annosync(['compare', '--base', baseId, '--head', headRun.run.id], env);
    assert.is(compared.code, 0, compared.stderr);
    assert.match(compared.stdout, /\ntracking:\nmetric\s+base\s+head\s+delta\nmota\s+1\s+0\.7500\s+-0\.2500\n/);
    assert.match(compared.stdout, /\nidSwitches\s+0\s+1\s+\+1\n/);
    assert.match(compared.stdout, /tracking per label:\nlabel\s+Δhota\s+Δmota\s+Δidf1\s+ΔidSwitches\ncar\s+-0\.\d{4}\s+-0\.2500\s+-0\.5000\s+\+1/);
    const failed = await annosync(['gate', '--run', headRun.run.id, '--baseline', baseId, '--metric', 'hota', '--max-drop', '0.01'], env);
    assert.is(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /label\s+base hota\s+head hota\s+delta\n\(overall\)\s+1\s+0\.\d{4}\s+-0\.\d{4}/);
    assert.ok(oneCleanLine(failed.stderr) && /gate failed: hota dropped by more than 0\.01: overall -0\.\d+$/.test(failed.stderr.trim()), failed.stderr);
    const mota = await annosync(['gate', '--run', headRun.run.id, '--baseline', baseId, '--metric', 'mota', '--max-drop', '0.25', '--per-label', '--json'], env);
    assert.is(mota.code, 0, mota.stderr);
    assert.equal((JSON.parse(mota.stdout) as { verdict: { passed: boolean; metric: string } }).verdict, { metric: 'mota', maxDrop: 0.25, perLabel: true, passed: true, failures: [] });
    // The detection metrics did not move: every box was found by both.
    assert.is((await annosync(['gate', '--run', headRun.run.id, '--baseline', baseId, '--metric', 'ap50', '--max-drop', '0'], env)).code, 0);

    // A run of the same model without track ids has no tracking metrics: compared with zeros, and said so.
    const untracked = JSON.parse((await run(tracker('boxes-only.csv', null), '3')).stdout) as { run: { id: string }; evaluation: { tracking?: unknown } };
    assert.is(untracked.evaluation.tracking, undefined);
    const dropped = await annosync(['gate', '--run', untracked.run.id, '--baseline', baseId, '--metric', 'idf1', '--max-drop', '0.5'], env);
    assert.is(dropped.code, 1, dropped.stderr);
    assert.ok(oneCleanLine(dropped.stderr) && dropped.stderr.includes(`gate failed: idf1 dropped by more than 0.5: overall -1 (run ${untracked.run.id} carries no track ids)`), dropped.stderr);
    const lostIds = await annosync(['compare', '--base', baseId, '--head', untracked.run.id], env);
    assert.ok(lostIds.stdout.includes(`tracking (run ${untracked.run.id} carries no track ids: its figures count 0):`), lostIds.stdout);
    const floorless = await annosync(['gate', '--run', untracked.run.id, '--metric', 'hota', '--min', '0.5'], env);
    assert.is(floorless.code, 1);
    assert.ok(floorless.stderr.includes(`gate failed: hota below 0.5: overall 0 (run ${untracked.run.id} carries no track ids)`), floorless.stderr);
    assert.is((await annosync(['gate', '--run', headRun.run.id, '--metric', 'mota', '--min', '0.75'], env)).code, 0);
    // Two detectors: no tracking metric to gate on, a usage error (exit 2).
    const none = await annosync(['gate', '--run', runs.head, '--baseline', runs.base, '--metric', 'mota'], env);
    assert.is(none.code, 2);
    assert.ok(oneCleanLine(none.stderr) && none.stderr.includes('neither run carries track ids: no mota to gate on'), none.stderr);
  });

  test('run reads MOTChallenge tracker output: scored as a tracker, warnings named by the line of the whole file, a bad line refused before anything is sent', async ({ t, dir, env, ids }) => {
    // The car track of the second session (frames 0-3). 9 columns: class 1 is car, the session's
    // first label. Confidence -1 (as many trackers write) is stored as 1 with a warning; line 4 (a
    // blank line before it) reaches past the left edge, and is sent in the second chunk of two lines.
    const file = path.join(dir, 'MOT17-02-tracker.txt');
    writeFileSync(file, ['1,7,10,10,50,50,-1,1,-1', '2,7,10,10,50,50,-1,1,-1', '', '3,7,-5,10,50,50,-1,1,-1', '4,7,10,10,50,50,-1,1,-1'].join('\n') + '\n');
    const args = ['run', '--project', ids.project, '--video', ids.video, '--session', ids.second, '--release', 'tracks-v1', '--detections'];
    const r = await annosync([...args, file, '--model', 'tracker@mot', '--chunk-size', '2'], env);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(overall\)\s+1\s+0\.\d{4}\s+1\s/, 'MOTA 1, MOTP below 1 (the box past the edge), IDF1 1');
    assert.ok(r.stderr.includes(`warning: 4 rows with a confidence outside [0, 1] stored with score 1 (${file}:1)`), r.stderr);
    assert.ok(r.stderr.includes(`warning: 1 row reaching past the image edge kept as written (${file}:4)`), r.stderr);
    assert.is((await annosync([...args, file, '--model', 'tracker@mot', '--clip'], env)).code, 2, '--clip does not apply');

    const runsBefore = (await t.http.get<{ items: unknown[] }>(`/api/projects/${ids.project}/test-runs?limit=500`)).body.items.length;
    const bad = path.join(dir, 'bad-tracker.txt');
    writeFileSync(bad, '1,7,10,10,50,50,1,1,-1\n2,7,10,10,0,50,1,1,-1\n');
    const refused = await annosync([...args, bad, '--model', 'tracker@bad'], env);
    assert.is(refused.code, 2);
    assert.ok(oneCleanLine(refused.stderr) && refused.stderr.includes(`${bad}:2:w: w 0 must be > 0`), refused.stderr);
    assert.is((await t.http.get<{ items: unknown[] }>(`/api/projects/${ids.project}/test-runs?limit=500`)).body.items.length, runsBefore, 'no run made');

    // A frame past the video's 100 is the server's to see: its 422 names the line of the whole file.
    const late = path.join(dir, 'late-tracker.txt');
    writeFileSync(late, '1,7,10,10,50,50,1,1,-1\n2,7,10,10,50,50,1,1,-1\n101,7,10,10,50,50,1,1,-1\n');
    const past = await annosync([...args, late, '--model', 'tracker@late', '--chunk-size', '2'], env);
    assert.is(past.code, 2);
    // After the note that the run was made, the refusal in one line.
    const [made, refusal, ...rest] = past.stderr.trim().split('\n');
    assert.ok(/^run \S+ created/.test(made!) && rest.length === 0 && refusal!.includes("frame 101 is past the video's 100 frames (tracker.txt:3:frame)"), past.stderr);
  });

  test.run();
}
