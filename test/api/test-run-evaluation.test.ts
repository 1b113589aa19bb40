/**
 * Evaluation end to end: ground truth annotated over REST (a track expanded per frame, a
 * rejected box left out), detections posted to a run, metrics stored when it completes and served
 * by GET /evaluation. The numbers are worked out by hand in the comments.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabelMetrics } from '../../docs-model/evaluation.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

type Metrics = LabelMetrics;
interface EvaluationBody {
  overall: Metrics;
  perLabel: Record<string, Metrics>;
  iouThreshold: number;
  groundTruth: { sessionId: string; annotations: number };
  detections: number;
  linked: Array<{ detectionId: string; annotationId: string; verdict: string }>;
}

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`test-run evaluation (${kind})`);
  withApiServer(test, kind);

  test('metrics against the session: ties, duplicates, frames without ground truth, labels on one side, tracks, verdicts', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    assert.is((await http.post(`${s}/tracks`, { id: 't1', label: 'car' })).status, 201);
    const created = await http.post(`${s}/annotations`, [
      { id: 'a1', frame: 0, bbox: [0, 0, 10, 10], label: 'car', status: 'validated', detectionId: 'd1' },
      { id: 'a2', frame: 0, bbox: [100, 100, 20, 20], label: 'person', status: 'rejected', detectionId: 'd2' },
      // Track t1: frame 2 drawn, frame 3 interpolated (x = 60), gone from frame 4 on.
      { id: 'k2', frame: 2, bbox: [50, 50, 10, 10], label: 'car', trackId: 't1' },
      { id: 'k4', frame: 4, bbox: [70, 50, 10, 10], label: 'car', trackId: 't1', outside: true },
    ]);
    assert.is(created.status, 201, created.text);

    const run = await http.post<{ id: string; groundTruth: { releaseId: string; contentHash: string } }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm', version: '1' } });
    const posted = await http.post(`/api/test-runs/${run.body.id}/detections`, [
      { frame: 0, bbox: [0, 0, 10, 10], label: 'car', score: 0.9, detectionId: 'd1' }, // tp
      { frame: 0, bbox: [1, 0, 10, 10], label: 'car', score: 0.9 }, // same score, same box: fp
      { frame: 3, bbox: [60, 50, 10, 10], label: 'car', score: 0.8 }, // the interpolated box: tp
      { frame: 5, bbox: [0, 0, 5, 5], label: 'car', score: 0.7 }, // no ground truth on frame 5: fp
      { frame: 0, bbox: [0, 0, 10, 10], label: 'bike', score: 0.6 }, // bike only detected: fp
      { frame: 0, bbox: [100, 100, 20, 20], label: 'person', score: 0.5, detectionId: 'd2' }, // its box is rejected: fp
    ]);
    assert.is(posted.status, 200, posted.text);

    const live = await http.get<EvaluationBody>(`/api/test-runs/${run.body.id}/evaluation`);
    assert.is(live.status, 200, live.text);
    const e = live.body;
    // Scored against the release the server made for the run when it was created.
    assert.equal(e.groundTruth, { sessionId: session.id, releaseId: run.body.groundTruth.releaseId, contentHash: run.body.groundTruth.contentHash, annotations: 3 });
    assert.is(e.detections, 6);
    assert.is(e.iouThreshold, 0.5);
    const car = e.perLabel.car!;
    assert.equal([car.tp, car.fp, car.fn], [2, 2, 1]);
    close(car.precision, 0.5, 'car precision');
    close(car.recall, 2 / 3, 'car recall');
    close(car.f1, 4 / 7, 'car f1');
    // Sorted: 0.9 tp, 0.9 fp, 0.8 tp, 0.7 fp → precision made monotone [1, 2/3, 2/3, 1/2] at
    // recall [1/3, 1/3, 2/3, 2/3]: 34 recall points at 1, 33 at 2/3, the rest 0 → 56/101. Every
    // match is exact, so every IoU threshold gives the same AP.
    close(car.ap50, 56 / 101, 'car ap50');
    close(car.ap, 56 / 101, 'car ap');
    assert.equal([e.perLabel.bike!.tp, e.perLabel.bike!.fp, e.perLabel.bike!.fn, e.perLabel.bike!.recall, e.perLabel.bike!.ap50], [0, 1, 0, 0, 0]);
    assert.equal([e.perLabel.person!.tp, e.perLabel.person!.fp, e.perLabel.person!.fn], [0, 1, 0], 'the rejected box is not ground truth');
    assert.equal([e.overall.tp, e.overall.fp, e.overall.fn], [2, 4, 1]);
    close(e.overall.precision, 1 / 3, 'overall precision');
    close(e.overall.f1, 4 / 9, 'overall f1');
    close(e.overall.ap50, 56 / 101, 'mAP over the labels with ground truth');
    assert.equal(
      [...e.linked].sort((a, b) => a.detectionId.localeCompare(b.detectionId)),
      [
        { detectionId: 'd1', annotationId: 'a1', verdict: 'validated' },
        { detectionId: 'd2', annotationId: 'a2', verdict: 'rejected' },
      ],
    );

    const strict = await http.get<EvaluationBody>(`/api/test-runs/${run.body.id}/evaluation?iouThreshold=0.95`);
    assert.equal([strict.body.overall.tp, strict.body.iouThreshold], [2, 0.95]);

    const done = await http.post<{ evaluation: EvaluationBody & { linkedCount: number } }>(`/api/test-runs/${run.body.id}/progress`, { processedFrames: 100, totalFrames: 100, status: 'completed' });
    assert.is(done.status, 200, done.text);
    assert.ok(done.body.evaluation, 'stored when the run completes');
    assert.equal(done.body.evaluation.overall, e.overall);
    assert.is(done.body.evaluation.linkedCount, 2);
  });

  test('an evaluation after another upload scores every detection, not those an earlier one read', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const created = await http.post(`/api/sessions/${session.id}/annotations`, [
      { id: 'a1', frame: 0, bbox: [0, 0, 10, 10], label: 'car', status: 'validated' },
      { id: 'a2', frame: 1, bbox: [0, 0, 10, 10], label: 'car', status: 'validated' },
    ]);
    assert.is(created.status, 201, created.text);
    const run = await http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm', version: '1' } });
    const path = `/api/test-runs/${run.body.id}`;
    assert.is((await http.post(`${path}/detections`, [{ frame: 0, bbox: [0, 0, 10, 10], label: 'car', score: 0.9 }])).status, 200);
    for (let k = 0; k < 2; k++) {
      const first = await http.get<EvaluationBody>(`${path}/evaluation`);
      assert.equal([first.body.detections, first.body.overall.tp, first.body.overall.fn], [1, 1, 1]);
    }
    assert.is((await http.post(`${path}/detections`, [{ frame: 1, bbox: [0, 0, 10, 10], label: 'car', score: 0.8 }])).status, 200);
    const after = await http.get<EvaluationBody>(`${path}/evaluation`);
    assert.equal([after.body.detections, after.body.overall.tp, after.body.overall.fn], [2, 2, 0]);
  });

  test('a run made again under the id of a deleted one is scored on its own detections', async ({ t }) => {
    const { http } = t;
    const evaluate = async (detection: { frame: number; bbox: number[] }) => {
      const { project, video, session } = await linkedSession(http);
      assert.is((await http.post(`/api/sessions/${session.id}/annotations`, [{ id: 'a1', frame: 0, bbox: [0, 0, 10, 10], label: 'car', status: 'validated' }])).status, 201);
      const run = await http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { id: 'nightly', videoId: video.id, sessionId: session.id, model: { name: 'm', version: '1' } });
      assert.is(run.status, 201, run.text);
      assert.is((await http.post(`/api/test-runs/nightly/detections`, [{ ...detection, label: 'car', score: 0.9 }])).status, 200);
      const evaluation = await http.get<EvaluationBody>(`/api/test-runs/nightly/evaluation`);
      return { project, overall: evaluation.body.overall };
    };
    const first = await evaluate({ frame: 0, bbox: [0, 0, 10, 10] });
    assert.equal([first.overall.tp, first.overall.fp], [1, 0]);
    // The project goes, and its run with it; the same id, as many detections, other boxes.
    assert.is((await http.delete(`/api/projects/${first.project.id}?force=true`)).status, 204);
    const again = await evaluate({ frame: 0, bbox: [300, 300, 10, 10] });
    assert.equal([again.overall.tp, again.overall.fp], [0, 1]);
  });

  test.run();
}
