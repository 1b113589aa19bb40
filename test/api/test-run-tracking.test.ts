/**
 * Tracker output in a run over real HTTP: track ids through REST detections (`trackId`), COCO
 * results (`track_id`) and MOT tracker output (`?format=mot`), stored in the detections table, and
 * `GET /evaluation`'s `tracking` figures — on a hand-made identity swap whose figures are worked
 * out in test/docs-model/tracking.test.ts, and on a MOT20-like file pair of the reference fixture
 * (ground truth imported with ?format=mot) against what py-motmetrics and TrackEval computed.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TrackingMetrics } from '../../docs-model/tracking/index.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, type ApiTestServer, type ErrorResponse, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface EvaluationBody {
  detections: number;
  tracking?: { overall: TrackingMetrics; perLabel: Record<string, TrackingMetrics>; iouThreshold: number };
}
interface MotFiles {
  name: string;
  frames: number;
  width: number;
  height: number;
  gt: string;
  tracker: string;
  expected: { motmetrics: Record<string, number | null>; trackeval: Record<string, number> };
}

const reference = JSON.parse(readFileSync(new URL('../fixtures/tracking/reference.json', import.meta.url), 'utf8')) as { files: MotFiles[] };

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: ${actual} ≠ ${expected}`);

const postText = (t: ApiTestServer, path: string, type: string, raw: string) =>
  t.http.request<Record<string, unknown> & ErrorResponse>('POST', path, undefined, { headers: { 'content-type': type, authorization: `Bearer ${t.adminToken}` }, raw });

const A = [0, 0, 10, 10];
const B = [100, 0, 10, 10];

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`test-run tracking metrics (${kind})`);
  withApiServer(test, kind);

  /** Two person tracks a (at A) and b (at B) on frames 0-3, kept by keyframes; a run on it. */
  async function swapCase(t: ApiTestServer) {
    const { project, video, session } = await linkedSession(t.http);
    const s = `/api/sessions/${session.id}`;
    for (const id of ['a', 'b']) assert.is((await t.http.post(`${s}/tracks`, { id, label: 'person' })).status, 201);
    const created = await t.http.post(`${s}/annotations`, [
      { frame: 0, bbox: A, label: 'person', trackId: 'a' },
      { frame: 3, bbox: A, label: 'person', trackId: 'a' },
      { frame: 4, bbox: A, label: 'person', trackId: 'a', outside: true },
      { frame: 0, bbox: B, label: 'person', trackId: 'b' },
      { frame: 3, bbox: B, label: 'person', trackId: 'b' },
      { frame: 4, bbox: B, label: 'person', trackId: 'b', outside: true },
      // A rejected box is no ground truth: it would be a miss if it counted.
      { frame: 1, bbox: [300, 300, 10, 10], label: 'person', status: 'rejected' },
    ]);
    assert.is(created.status, 201, created.text);
    const run = await t.http.post<{ id: string; releaseId: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'tracker', version: '1' } });
    assert.is(run.status, 201, run.text);
    /** Another run of the session scored against the same release as the first. */
    const another = async (version: string) => {
      const r = await t.http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'tracker', version }, groundTruth: { releaseId: run.body.releaseId } });
      assert.is(r.status, 201, r.text);
      return r.body.id;
    };
    return { runId: run.body.id, session, another };
  }

  /** Boxes on a and b on frames 0-3; `swap`: the tracker's ids exchange their objects at frame 2. */
  const trackerOutput = (swap: boolean) =>
    [0, 1, 2, 3].flatMap((frame) => [
      { frame, bbox: A, label: 'person', score: 0.9, trackId: swap && frame >= 2 ? '2' : '1' },
      { frame, bbox: B, label: 'person', score: 0.9, trackId: swap && frame >= 2 ? '1' : '2' },
    ]);

  test('tracker ids exchanging their objects halfway: two identity switches, MOTA 0.75, IDF1 0.5 (REST trackId)', async ({ t }) => {
    const { runId } = await swapCase(t);
    // Frames 0-1: tracker 1 on a, 2 on b; frames 2-3 the other way round.
    const detections = [0, 1, 2, 3].flatMap((frame) => [
      { frame, bbox: A, label: 'person', score: 0.9, trackId: frame < 2 ? 1 : 2 },
      { frame, bbox: B, label: 'person', score: 0.9, trackId: frame < 2 ? '2' : '1' },
    ]);
    const posted = await t.http.post(`/api/test-runs/${runId}/detections`, detections);
    assert.is(posted.status, 200, posted.text);
    const e = await t.http.get<EvaluationBody>(`/api/test-runs/${runId}/evaluation`);
    assert.is(e.status, 200, e.text);
    const tracking = e.body.tracking!;
    assert.ok(tracking, 'tracking figures when detections carry track ids');
    const o = tracking.overall;
    assert.equal([o.idSwitches, o.idtp, o.groundTruthBoxes, o.groundTruthTracks, o.trackerTracks, o.misses, o.falsePositives], [2, 4, 8, 2, 2, 0, 0]);
    close(o.mota, 1 - 2 / 8, 'mota');
    close(o.idf1, 0.5, 'idf1');
    close(o.motp, 1, 'motp');
    assert.equal(Object.keys(tracking.perLabel), ['person']);
    assert.equal(tracking.perLabel.person, o);
  });

  test('two tracker runs on one release compare their tracking metrics, in the full answer and the summary; a run without track ids is onlyIn', async ({ t }) => {
    const { runId: swapped, another } = await swapCase(t);
    const [steady, plain] = [await another('2'), await another('3')];
    for (const [id, detections] of [[swapped, trackerOutput(true)], [steady, trackerOutput(false)], [plain, trackerOutput(false).map(({ trackId: _, ...d }) => d)]] as const) {
      const posted = await t.http.post(`/api/test-runs/${id}/detections`, detections);
      assert.is(posted.status, 200, posted.text);
    }
    type Deltas = Record<string, { base: number; head: number; delta: number }>;
    type Tracking = { overall: Deltas; perLabel: Record<string, Deltas>; onlyIn?: string };
    for (const summary of [false, true]) {
      const c = await t.http.get<{ overall: Deltas; tracking?: Tracking }>(`/api/test-runs/compare?base=${steady}&head=${swapped}${summary ? '&summary=true' : ''}`);
      assert.is(c.status, 200, c.text);
      const tracking = c.body.tracking!;
      assert.equal(tracking.overall.idSwitches, { base: 0, head: 2, delta: 2 });
      assert.equal(tracking.overall.mota, { base: 1, head: 0.75, delta: -0.25 });
      assert.equal(tracking.perLabel.person!.idf1, { base: 1, head: 0.5, delta: -0.5 });
      assert.not.ok('onlyIn' in tracking);
      assert.equal(c.body.overall.tp, { base: 8, head: 8, delta: 0 }, 'the same boxes found');
    }
    const lost = await t.http.get<{ tracking?: Tracking }>(`/api/test-runs/compare?base=${steady}&head=${plain}&summary=true`);
    assert.equal([lost.body.tracking!.onlyIn, lost.body.tracking!.overall.hota], ['base', { base: 1, head: 0, delta: -1 }]);
  });

  test('COCO results carry track_id; a run without track ids has no tracking figures', async ({ t }) => {
    const { runId, session } = await swapCase(t);
    const coco = await t.http.get<{ categories: Array<{ id: number; name: string }> }>(`/api/sessions/${session.id}/export?format=coco`);
    const personId = coco.body.categories.find((c) => c.name === 'person')!.id;
    const results = [0, 1, 2, 3].flatMap((frame) => [
      { image_id: frame + 1, category_id: personId, bbox: A, score: 0.9, track_id: 7 },
      { image_id: frame + 1, category_id: personId, bbox: B, score: 0.9, track_id: 'eight' },
    ]);
    const posted = await t.http.post(`/api/test-runs/${runId}/detections?format=coco`, results);
    assert.is(posted.status, 200, posted.text);
    const o = (await t.http.get<EvaluationBody>(`/api/test-runs/${runId}/evaluation`)).body.tracking!.overall;
    assert.equal([o.mota, o.idf1, o.hota, o.idSwitches, o.mostlyTracked], [1, 1, 1, 0, 2]);

    const { runId: plain } = await swapCase(t);
    assert.is((await t.http.post(`/api/test-runs/${plain}/detections`, [{ frame: 0, bbox: A, label: 'person', score: 0.5 }])).status, 200);
    const e = await t.http.get<EvaluationBody>(`/api/test-runs/${plain}/evaluation`);
    assert.is(e.body.tracking, undefined);
    assert.is(e.body.detections, 1);
  });

  test('a MOT20-like ground truth and tracker output over HTTP score what py-motmetrics and TrackEval computed', async ({ t }) => {
    const f = reference.files.find((x) => x.name.startsWith('mot20'))!;
    const { project, video, session } = await linkedSession(t.http, {
      project: { labels: [{ name: 'pedestrian' }] },
      video: { width: f.width, height: f.height, frameCount: f.frames },
    });
    const gt = await postText(t, `/api/sessions/${session.id}/import?format=mot`, 'text/plain', f.gt);
    assert.is(gt.status, 200, gt.text.slice(0, 500));
    const run = await t.http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'tracker', version: '1' } });
    const posted = await postText(t, `/api/test-runs/${run.body.id}/detections?format=mot`, 'text/plain', f.tracker);
    assert.is(posted.status, 200, posted.text.slice(0, 500));
    const pastEdge = f.tracker.split('\n').some((l) => Number(l.split(',')[2]) < 0);
    assert.is((posted.body.warnings as Array<{ code: string }>).some((w) => w.code === 'box_past_edge'), pastEdge, 'boxes past the edge kept and flagged');
    assert.is(posted.body.accepted, f.tracker.trim().split('\n').length);

    const o = (await t.http.get<EvaluationBody>(`/api/test-runs/${run.body.id}/evaluation`)).body.tracking!.overall;
    const mm = f.expected.motmetrics;
    const te = f.expected.trackeval;
    assert.equal(
      [o.idSwitches, o.misses, o.falsePositives, o.fragmentations, o.mostlyTracked, o.partiallyTracked, o.mostlyLost, o.groundTruthBoxes],
      [mm.num_switches, mm.num_misses, mm.num_false_positives, mm.num_fragmentations, mm.mostly_tracked, mm.partially_tracked, mm.mostly_lost, mm.num_objects],
    );
    close(o.mota, mm.mota!, 'mota');
    close(o.motp, 1 - mm.motp!, 'motp');
    close(o.idf1, mm.idf1!, 'idf1');
    close(o.idp, mm.idp!, 'idp');
    close(o.idr, mm.idr!, 'idr');
    close(o.hota, te.HOTA!, 'hota');
    close(o.deta, te.DetA!, 'deta');
    close(o.assa, te.AssA!, 'assa');
    close(o.locA, te.LocA!, 'locA');
  });

  test('a bad tracker file is refused at its line and field, and nothing is stored', async ({ t }) => {
    const { runId } = await swapCase(t);
    const res = await postText(t, `/api/test-runs/${runId}/detections?format=mot`, 'text/plain', '1,1,0,0,10,10,0.9,-1,-1,-1\n2,1,x,0,10,10,0.9,-1,-1,-1\n999,2,0,0,10,10,0.9,-1,-1,-1\n');
    assert.is(res.status, 422, res.text);
    const places = (res.body.error.details as unknown as Array<{ code: string; place: string }>).map((d) => `${d.code}@${d.place}`);
    assert.equal(places, ['bad_number@tracker.txt:2:x', 'frame_out_of_range@tracker.txt:3:frame']);
    const run = await t.http.get<{ detectionCount: number }>(`/api/test-runs/${runId}`);
    assert.is(run.body.detectionCount, 0);
    const json = await postText(t, `/api/test-runs/${runId}/detections?format=mot`, 'application/json', '[]');
    assert.is(json.status, 415);
  });

  test('a track with two boxes of one label on one frame is refused at the upload that repeats it, in every format, and nothing of it is stored', async ({ t }) => {
    const { runId } = await swapCase(t);
    const path = `/api/test-runs/${runId}/detections`;
    const details = (res: { body: ErrorResponse }) => (res.body.error.details as unknown as Array<{ code: string; field?: string; place?: string; message: string }>).map((d) => `${d.code}@${d.field ?? d.place}`);

    const json = await t.http.post<ErrorResponse>(path, [
      { frame: 0, bbox: A, label: 'person', score: 0.9, trackId: '1' },
      { frame: 0, bbox: B, label: 'person', score: 0.9, trackId: '2' },
      { frame: 0, bbox: B, label: 'person', score: 0.8, trackId: '1' },
    ]);
    assert.is(json.status, 422, json.text);
    assert.equal(details(json), ['repeated_track_box@[2].trackId']);
    assert.match(json.text, /track '1' already has a 'person' box on frame 0 \(\[0\]\)/);

    const csv = await postText(t, path + '?format=csv', 'text/csv', 'frame,label,x,y,w,h,score,trackId\n1,person,0,0,10,10,0.9,7\n1,person,100,0,10,10,0.9,7\n');
    assert.is(csv.status, 422, csv.text);
    assert.equal(details(csv), ['repeated_track_box@detections.csv:3:trackId']);

    const mot = await postText(t, path + '?format=mot', 'text/plain', '1,5,0,0,10,10,0.9,-1,-1,-1\n1,5,100,0,10,10,0.9,-1,-1,-1\n1,-1,50,0,10,10,0.9,-1,-1,-1\n1,-1,60,0,10,10,0.9,-1,-1,-1\n');
    assert.is(mot.status, 422, mot.text);
    assert.equal(details(mot), ['duplicate_id_frame@tracker.txt:2:id'], 'boxes without a track (-1) may share a frame');
    assert.is((await t.http.get<{ detectionCount: number }>(`/api/test-runs/${runId}`)).body.detectionCount, 0);

    // Across uploads: the second upload repeats a box of the first; the first stays, the second is not stored.
    const first = await t.http.post(path, [{ frame: 2, bbox: A, label: 'person', score: 0.9, trackId: '1' }]);
    assert.is(first.status, 200, first.text);
    const again = await t.http.post<ErrorResponse>(path, [
      { frame: 1, bbox: A, label: 'person', score: 0.9, trackId: '1' },
      { frame: 2, bbox: B, label: 'person', score: 0.9, trackId: '1' },
    ]);
    assert.is(again.status, 422, again.text);
    assert.is(again.body.error.code, 'repeated_track_box');
    assert.match(again.text, /track '1' already has a 'person' box on frame 2 in an earlier upload/);
    // The same track and frame under another label, or another track on that frame, is no repeat.
    const other = await t.http.post(path, [
      { frame: 2, bbox: B, label: 'car', score: 0.9, trackId: '1' },
      { frame: 2, bbox: B, label: 'person', score: 0.9, trackId: '2' },
    ]);
    assert.is(other.status, 200, other.text);
    assert.is((await t.http.get<{ detectionCount: number }>(`/api/test-runs/${runId}`)).body.detectionCount, 3);
    const evaluation = await t.http.get<EvaluationBody>(`/api/test-runs/${runId}/evaluation`);
    assert.is(evaluation.status, 200, evaluation.text);
    assert.is(evaluation.body.detections, 3);
  });

  test.run();
}
