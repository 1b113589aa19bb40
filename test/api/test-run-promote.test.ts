/**
 * Pre-labels over real HTTP: POST /api/test-runs/:id/promote writes the run's detections into its
 * session through the live document — a real y-websocket client sees them, the history records
 * origin model — as model drafts and tracks; idempotent; keyframes=auto; skip-matched; roles; and
 * the promoted drafts are ground truth for the evaluation like any other draft.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listAnnotations, listTracks } from '../../docs-model/index.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced } from '../../tools/clients.ts';
import { jsonClient, linkedSession, type ApiTestServer, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface Counts {
  sessionId: string;
  selected: number;
  skippedMatched: number;
  alreadyPromoted: number;
  promoted: number;
  annotations: number;
  keyframes: number;
  outsideKeyframes: number;
  interpolated: number;
  tracks: number;
}
interface HistoryBody {
  items: Array<{ by: string; origin: string; kind: string; annotationId?: string }>;
}

/** A lone detection on frame 2 and tracker id 5 moving straight on frames 0-9 (x = 10 + 4f). */
const DETECTIONS = [
  { frame: 2, bbox: [300, 200, 40, 30], label: 'person', score: 0.7, detectionId: 'lone' },
  ...Array.from({ length: 10 }, (_, f) => ({ frame: f, bbox: [10 + 4 * f, 50, 30, 30], label: 'car', score: 0.9, trackId: 5 })),
];

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`test-run promote (${kind})`);
  withApiServer(test, kind);

  async function runWithDetections(t: ApiTestServer, detections: unknown[] = DETECTIONS) {
    const { project, video, session } = await linkedSession(t.http);
    const run = await t.http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'yolo', version: '8.1' } });
    assert.is(run.status, 201, run.text);
    const posted = await t.http.post(`/api/test-runs/${run.body.id}/detections`, detections);
    assert.is(posted.status, 200, posted.text);
    return { project, session, runId: run.body.id };
  }

  test('a connected annotator sees the promoted drafts and track at once; the history says origin model', async ({ t }) => {
    const { session, runId } = await runWithDetections(t);
    const client = connectClient(t.url, session.docName, { params: { token: t.adminToken } });
    try {
      await synced(client.provider);
      const res = await t.http.post<Counts>(`/api/test-runs/${runId}/promote`, {});
      assert.is(res.status, 200, res.text);
      assert.equal(
        [res.body.sessionId, res.body.selected, res.body.promoted, res.body.annotations, res.body.keyframes, res.body.outsideKeyframes, res.body.tracks],
        [session.id, 11, 11, 12, 10, 1, 1],
      );
      const seen = (await waitFor(() => (listAnnotations(client.doc).length === 12 ? listAnnotations(client.doc) : null), { message: 'the promotion reaches the client' }))!;
      const lone = seen.find((a) => a.detectionId === 'lone')!;
      assert.equal([lone.source, lone.status, lone.label, lone.attributes], ['model', 'draft', 'person', { model: { name: 'yolo', version: '8.1', score: 0.7 } }]);
      const [track] = listTracks(client.doc);
      assert.is(track!.label, 'car');
      const keyframes = seen.filter((a) => a.trackId === track!.id && !a.outside);
      assert.equal(keyframes.map((a) => a.detectionId), Array.from({ length: 10 }, (_, k) => `${runId}:${k + 1}`));
      assert.ok(seen.every((a) => a.source === 'model'));

      const history = (await waitFor(
        async () => {
          const h = await t.http.get<HistoryBody>(`/api/sessions/${session.id}/history`);
          return h.body.items.length >= 12 ? h.body.items : null;
        },
        { timeoutMs: 10_000, message: 'the promotion in the history' },
      ))!;
      assert.ok(history.every((e) => e.origin === 'model'), JSON.stringify(history.map((e) => e.origin)));

      const again = await t.http.post<Counts>(`/api/test-runs/${runId}/promote`, {});
      assert.equal([again.body.annotations, again.body.tracks, again.body.alreadyPromoted], [0, 0, 11], 'promoting twice creates nothing new');
      assert.is(listAnnotations(client.doc).length, 12);
    } finally {
      client.destroy();
    }
  });

  test('keyframes=auto keeps the two ends of straight motion; filters and skip-matched choose the rest', async ({ t }) => {
    const { session, runId } = await runWithDetections(t);
    const auto = await t.http.post<Counts>(`/api/test-runs/${runId}/promote?keyframes=auto`, { labels: ['car'], frames: { from: 0, to: 9 } });
    assert.is(auto.status, 200, auto.text);
    assert.equal([auto.body.selected, auto.body.keyframes, auto.body.interpolated, auto.body.outsideKeyframes], [10, 2, 8, 1]);
    const box = await t.http.get<{ items: unknown[]; trackBoxes: Array<{ bbox: number[]; keyframe: boolean }> }>(`/api/sessions/${session.id}/annotations?frame=4&expand=tracks`);
    assert.equal(box.body.items, [], 'no keyframe on frame 4');
    assert.equal(box.body.trackBoxes.map((a) => a.bbox), [[26, 50, 30, 30]], 'frame 4 interpolated where the detection was');

    // The person box now matches nothing; the car detections match the promoted track (IoU 1).
    const skip = await t.http.post<Counts>(`/api/test-runs/${runId}/promote`, { mode: 'skip-matched', minScore: 0.5 });
    assert.equal([skip.body.selected, skip.body.skippedMatched, skip.body.annotations], [11, 10, 1]);
  });

  test('promoted drafts nobody validated are ground truth: a run on a release made after the promotion scores perfectly against them', async ({ t }) => {
    const { project, session, runId: first } = await runWithDetections(t);
    assert.is((await t.http.post(`/api/test-runs/${first}/promote`, {})).status, 200);
    const release = await t.http.post<{ id: string }>(`/api/sessions/${session.id}/releases`, { name: 'promoted' });
    assert.is(release.status, 201, release.text);
    const run = await t.http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, {
      videoId: session.videoId,
      sessionId: session.id,
      model: { name: 'yolo', version: '8.1' },
      groundTruth: { releaseId: release.body.id },
    });
    assert.is(run.status, 201, run.text);
    assert.is((await t.http.post(`/api/test-runs/${run.body.id}/detections`, DETECTIONS)).status, 200);
    const runId = run.body.id;
    const e = await t.http.get<{ overall: { tp: number; fp: number; fn: number }; tracking: { overall: { mota: number; idf1: number } } }>(`/api/test-runs/${runId}/evaluation`);
    assert.equal([e.body.overall.tp, e.body.overall.fp, e.body.overall.fn], [11, 0, 0]);
    assert.equal([e.body.tracking.overall.mota, e.body.tracking.overall.idf1], [1, 1]);
  });

  test('a viewer cannot promote; bad options are 422 naming the field', async ({ t }) => {
    const { project, runId } = await runWithDetections(t);
    const viewer = jsonClient(t.url, await t.token({ sub: 'vic', name: 'Vic', projects: { [project.id]: 'viewer' } }));
    assert.is((await viewer.post(`/api/test-runs/${runId}/promote`, {})).status, 403);
    const bad = await t.http.post<{ error: { details: Array<{ field: string }> } }>(`/api/test-runs/${runId}/promote`, { minScore: 2, frames: { from: 5, to: 1 } });
    assert.is(bad.status, 422, bad.text);
    assert.equal(bad.body.error.details.map((d) => d.field).sort(), ['frames.to', 'minScore']);
    assert.is((await t.http.post(`/api/test-runs/${runId}/promote?keyframes=some`, {})).status, 400);
  });

  test.run();
}
