/**
 * Evaluations pinned to a release, run comparison and CSV detections over real HTTP, on each
 * database. The numbers are worked out by hand in the comments.
 *
 * Ground truth: frame 0 car A [0,0,10,10], frame 1 car B [20,20,10,10], frame 2 person C [40,40,10,10].
 * base finds A (0.9) and C (0.8); head finds B (0.9), C (0.7) and a bike on frame 3 where nothing is.
 * car: 1 tp of 2 in both runs (recall 1/2, precision 1, AP50 = 51/101: recall points 0…0.5);
 * person: 1 of 1 in both; bike: only head has it, 1 fp. Overall tp 2 = 2, fp 0 → 1, fn 1 = 1,
 * precision 1 → 2/3. Head lost A on frame 0 (a regression) and gained B on frame 1 (a fix).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, type ErrorResponse, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface Metrics {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  ap50: number;
}
interface Delta {
  base: number;
  head: number;
  delta: number;
}
interface Evaluation {
  overall: Metrics;
  perLabel: Record<string, Metrics>;
  groundTruth: { sessionId: string; releaseId: string; contentHash: string; annotations: number };
  confusion: { labels: string[]; matrix: number[][]; labelAgnosticMatches: number };
  curves: { recall: number[]; perLabel: Record<string, { precision: number[] }> };
}
interface Comparison {
  groundTruth: { releaseId: string; contentHash: string };
  overall: Record<string, Delta>;
  perLabel: Record<string, Record<string, Delta> & { onlyIn?: string }>;
  regressions: { boxes: number; frames: number; items?: Array<{ frame: number; boxes: Array<{ annotationId: string; label: string; score: number }> }>; nextCursor?: string | null };
  fixes: { boxes: number; frames: number; items?: Array<{ frame: number; boxes: Array<{ annotationId: string }> }> };
  base: { runId: string; confusion?: unknown };
  head: { runId: string; confusion?: unknown };
}

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`evaluations on releases, compare, CSV detections (${kind})`);
  withApiServer(test, kind);

  test('scored against the release: unchanged by later edits; compare by hand; runs on different releases are 409 naming both', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    assert.is(
      (await http.post(`${s}/annotations`, [
        { id: 'A', frame: 0, bbox: [0, 0, 10, 10], label: 'car' },
        { id: 'B', frame: 1, bbox: [20, 20, 10, 10], label: 'car' },
        { id: 'C', frame: 2, bbox: [40, 40, 10, 10], label: 'person' },
      ])).status,
      201,
    );
    const gt = await http.post<{ id: string; contentHash: string }>(`${s}/releases`, { name: 'gt-1' });
    assert.is(gt.status, 201, gt.text);
    const newRun = async (version: string, releaseId?: string) => {
      const r = await http.post<{ id: string; releaseId: string }>(`/api/projects/${project.id}/test-runs`, {
        videoId: video.id,
        sessionId: session.id,
        model: { name: 'det', version },
        ...(releaseId ? { groundTruth: { releaseId } } : {}),
      });
      assert.is(r.status, 201, r.text);
      return r.body;
    };
    const base = await newRun('1', gt.body.id);
    const head = await newRun('2', gt.body.id);
    assert.is(
      (await http.post(`/api/test-runs/${base.id}/detections`, [
        { frame: 0, bbox: [0, 0, 10, 10], label: 'car', score: 0.9 },
        { frame: 2, bbox: [40, 40, 10, 10], label: 'person', score: 0.8 },
      ])).status,
      200,
    );
    // head's detections as a model runner writes them: CSV with a header, columns in its own order.
    const csv = 'score,frame,label,x,y,w,h\n0.9,1,car,20,20,10,10\n0.7,2,person,40,40,10,10\n0.5,3,bike,0,0,5,5\n';
    const posted = await http.request<{ accepted: number }>('POST', `/api/test-runs/${head.id}/detections?format=csv`, undefined, { headers: { 'content-type': 'text/csv' }, raw: csv });
    assert.is(posted.status, 200, posted.text);
    assert.is(posted.body.accepted, 3);

    const first = await http.get<Evaluation>(`/api/test-runs/${base.id}/evaluation`);
    assert.is(first.status, 200, first.text);
    assert.equal(first.body.groundTruth, { sessionId: session.id, releaseId: gt.body.id, contentHash: gt.body.contentHash, annotations: 3 });
    assert.equal([first.body.overall.tp, first.body.overall.fp, first.body.overall.fn], [2, 0, 1]);
    // Confusion over bike? no: base has car and person; A and C on the diagonal, B missed (background column).
    assert.equal(first.body.confusion.labels, ['car', 'person']);
    assert.equal(first.body.confusion.matrix, [
      [1, 0, 1],
      [0, 1, 0],
      [0, 0, 0],
    ]);
    assert.is(first.body.curves.recall.length, 101);
    const carCurve = first.body.curves.perLabel.car!.precision;
    assert.is(carCurve.filter((p) => p === 1).length, 51, 'precision 1 up to recall 0.5, 0 past it');
    close(carCurve.reduce((a, b) => a + b, 0) / 101, first.body.perLabel.car!.ap50, 'the mean of the curve is AP50');

    // The session moves on: A deleted, B moved, a new box. The evaluation does not.
    assert.is((await http.delete(`${s}/annotations/A`)).status, 204);
    assert.is((await http.patch(`${s}/annotations/B`, { bbox: [60, 60, 10, 10] })).status, 200);
    assert.is((await http.post(`${s}/annotations`, { id: 'D', frame: 4, bbox: [1, 1, 9, 9], label: 'bike' })).status, 201);
    const later = await http.get<Evaluation>(`/api/test-runs/${base.id}/evaluation`);
    assert.equal(later.body, first.body, 'the same evaluation after the session was edited');
    const done = await http.post<{ evaluation: Evaluation }>(`/api/test-runs/${base.id}/progress`, { processedFrames: 100, totalFrames: 100, status: 'completed' });
    assert.is(done.status, 200, done.text);
    assert.equal(done.body.evaluation.groundTruth, first.body.groundTruth, 'the stored evaluation names the release and its hash');
    assert.equal(done.body.evaluation.confusion, first.body.confusion);

    const c = await http.get<Comparison>(`/api/test-runs/compare?base=${base.id}&head=${head.id}`);
    assert.is(c.status, 200, c.text);
    assert.equal(c.body.groundTruth, { sessionId: session.id, releaseId: gt.body.id, contentHash: gt.body.contentHash } as Comparison['groundTruth']);
    assert.equal([c.body.overall.tp, c.body.overall.fp, c.body.overall.fn], [
      { base: 2, head: 2, delta: 0 },
      { base: 0, head: 1, delta: 1 },
      { base: 1, head: 1, delta: 0 },
    ]);
    close(c.body.overall.precision!.head, 2 / 3, 'head precision');
    close(c.body.overall.precision!.delta, -1 / 3, 'precision delta');
    close(c.body.perLabel.car!.ap50!.base, 51 / 101, 'car AP50');
    close(c.body.perLabel.car!.ap50!.delta, 0, 'car AP50 delta');
    assert.is(c.body.perLabel.bike!.onlyIn, 'head');
    assert.equal(c.body.perLabel.bike!.fp, { base: 0, head: 1, delta: 1 });
    assert.is(c.body.perLabel.car!.onlyIn, undefined);
    assert.equal(c.body.regressions.items, [{ frame: 0, boxes: [{ groundTruth: 0, label: 'car', annotationId: 'A', bbox: [0, 0, 10, 10], score: 0.9 }] }] as unknown as Comparison['regressions']['items']);
    assert.equal(c.body.fixes.items!.map((f) => [f.frame, f.boxes.map((b) => b.annotationId)]), [[1, ['B']]]);
    assert.ok(c.body.base.confusion && c.body.head.confusion, 'both confusion matrices');

    const summary = await http.get<Comparison>(`/api/test-runs/compare?base=${base.id}&head=${head.id}&summary=true`);
    assert.equal([summary.body.regressions, summary.body.fixes], [{ boxes: 1, frames: 1 }, { boxes: 1, frames: 1 }]);
    assert.equal(summary.body.overall, c.body.overall);

    // A run on a later release of the same session cannot be compared with base.
    const gt2 = await http.post<{ id: string }>(`${s}/releases`, { name: 'gt-2' });
    const other = await newRun('3', gt2.body.id);
    const refused = await http.get<ErrorResponse>(`/api/test-runs/compare?base=${base.id}&head=${other.id}`);
    assert.is(refused.status, 409, refused.text);
    assert.is(refused.body.error.code, 'different_releases');
    assert.ok(refused.body.error.message.includes(gt.body.id) && refused.body.error.message.includes(gt2.body.id), refused.body.error.message);
    assert.is((await http.get(`/api/test-runs/compare?base=${base.id}&head=nope`)).status, 404);
    assert.is((await http.get(`/api/test-runs/compare?base=${base.id}`)).status, 400);
    const stranger = await t.token({ sub: 'sam', projects: {} });
    assert.is((await http.request('GET', `/api/test-runs/compare?base=${base.id}&head=${head.id}`, undefined, { headers: { authorization: `Bearer ${stranger}` } })).status, 404);
  });

  test('CSV and TSV detections: stored all or nothing, problems placed by line (422), the wrong content type 415', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const run = await http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' } });
    const post = (body: string, type: string, query = 'format=csv') =>
      http.request<ErrorResponse & { accepted: number; run: { detectionCount: number } }>('POST', `/api/test-runs/${run.body.id}/detections?${query}`, undefined, { headers: { 'content-type': type }, raw: body });
    const tsv = await post('frame\tlabel\tx\ty\tw\th\tscore\n0\tcar\t1\t1\t5\t5\t0.5\n', 'text/tab-separated-values');
    assert.is(tsv.status, 200, tsv.text);
    assert.is(tsv.body.run.detectionCount, 1);
    const bad = await post('frame,label,x,y,w,h,score\n0,car,1,1,5,5,0.5\n1,car,1,1,5,5,high\n5000,car,1,1,5,5,0.5\n', 'text/csv');
    assert.is(bad.status, 422, bad.text);
    const places = (bad.body.error.details as unknown as Array<{ place: string }>).map((d) => d.place);
    assert.ok(places[0]!.startsWith('detections.csv:3:') && places[1]!.startsWith('detections.csv:4:'), places.join(', '));
    assert.match(bad.body.error.message, /detections\.csv:3/);
    // A CSV sent as JSON is not JSON (400); JSON detections with format=csv are the wrong type (415).
    assert.is((await post('frame,label,x,y,w,h,score\n0,car,1,1,5,5,0.5\n', 'application/json')).status, 400);
    assert.is((await post(JSON.stringify([{ frame: 0, bbox: [1, 1, 5, 5], label: 'car', score: 0.5 }]), 'application/json')).status, 415);
    assert.is((await post('frame,label,x,y,w,h,score\n0,car,1,1,5,5,0.5\n', 'text/csv', 'format=native')).status, 415);
    assert.is((await post('frame,label\n', 'text/csv')).status, 422);
    const after = await http.get<{ detectionCount: number }>(`/api/test-runs/${run.body.id}`);
    assert.is(after.body.detectionCount, 1, 'nothing of the refused files was stored');
  });

  test('CSV detections keep their trackId and detectionId: the run is scored as tracker output', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const run = await http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' } });
    const csv = 'frame,label,x,y,w,h,score,trackId,detectionId\n0,car,1,1,5,5,0.5,7,d0\n1,car,2,1,5,5,0.6,7,d1\n1,car,40,40,5,5,0.6,8,\n';
    const posted = await http.request('POST', `/api/test-runs/${run.body.id}/detections?format=csv`, undefined, { headers: { 'content-type': 'text/csv' }, raw: csv });
    assert.is(posted.status, 200, posted.text);
    const evaluation = await http.get<{ detections: number; tracking?: { overall: { trackerTracks: number; trackerBoxes: number } } }>(`/api/test-runs/${run.body.id}/evaluation`);
    assert.is(evaluation.status, 200, evaluation.text);
    assert.is(evaluation.body.detections, 3);
    assert.equal([evaluation.body.tracking?.overall.trackerTracks, evaluation.body.tracking?.overall.trackerBoxes], [2, 3], evaluation.text.slice(0, 400));
  });

  test.run();
}
