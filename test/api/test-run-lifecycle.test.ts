/**
 * Test runs over real HTTP: what creating a run refuses and why, the project's run list (pages,
 * filters, a forged cursor, the page-size limit), and a run whose ground-truth session was
 * deleted before it completed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../../tools/databases.ts';
import { createVideo, linkedSession, type ErrorResponse, type Items, type SessionBody, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface Run {
  id: string;
  projectId: string;
  sessionId: string;
  status: string;
  model: { name: string; version: string };
  evaluation: Record<string, unknown> | null;
}

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`test-run lifecycle over REST (${kind})`);
  withApiServer(test, kind);

  const createRun = (ctx: ApiSuiteContext, projectId: string, body: Record<string, unknown>) =>
    ctx.t.http.post<Run & ErrorResponse>(`/api/projects/${projectId}/test-runs`, { model: { name: 'yolo', version: '8n' }, ...body });
  const progress = (ctx: ApiSuiteContext, id: string, body: Record<string, unknown>) => ctx.t.http.post<Run & ErrorResponse>(`/api/test-runs/${id}/progress`, body);

  test('creating a run: a session of another video is 422 naming sessionId, a taken id 409 naming id, another project’s session 404 as a missing one', async (ctx) => {
    const { project, video, session } = await linkedSession(ctx.t.http);
    const other = await createVideo(ctx.t.http);
    assert.is((await ctx.t.http.post(`/api/projects/${project.id}/videos`, { videoIds: [other.id] })).status, 200);
    const onOther = await ctx.t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: other.id });
    assert.is(onOther.status, 201, onOther.text);

    const wrongVideo = await createRun(ctx, project.id, { videoId: video.id, sessionId: onOther.body.id });
    assert.is(wrongVideo.status, 422, wrongVideo.text);
    assert.equal(wrongVideo.body.error.details?.map((d) => [d.field, d.code]), [['sessionId', 'wrong_video']]);

    const first = await createRun(ctx, project.id, { videoId: video.id, sessionId: session.id, id: 'nightly-42' });
    assert.is(first.status, 201, first.text);
    assert.is(first.body.id, 'nightly-42');
    const again = await createRun(ctx, project.id, { videoId: video.id, sessionId: session.id, id: 'nightly-42', model: { name: 'detr', version: '1' } });
    assert.is(again.status, 409, again.text);
    assert.is(again.body.error.code, 'taken');
    assert.equal(again.body.error.details?.map((d) => d.field), ['id']);
    assert.equal((await ctx.t.http.get<Run>('/api/test-runs/nightly-42')).body.model, { name: 'yolo', version: '8n' }, 'the first run is left as it was');

    // Another project's session is answered exactly as an id that names nothing.
    const foreign = await linkedSession(ctx.t.http);
    const probing = await createRun(ctx, project.id, { videoId: video.id, sessionId: foreign.session.id });
    const missing = await createRun(ctx, project.id, { videoId: video.id, sessionId: 'no-such-session' });
    assert.is(probing.status, 404, probing.text);
    assert.is(missing.status, 404, missing.text);
    assert.is(probing.body.error.code, missing.body.error.code);
    assert.is(probing.body.error.message.replace(foreign.session.id, '<id>'), missing.body.error.message.replace('no-such-session', '<id>'));
  });

  test('the project’s run list: oldest first in pages that cover every run once, filtered by status and by session', async (ctx) => {
    const { project, video, session } = await linkedSession(ctx.t.http);
    const ids: string[] = [];
    for (let k = 0; k < 5; k++) {
      const res = await createRun(ctx, project.id, { videoId: video.id, sessionId: session.id });
      assert.is(res.status, 201, res.text);
      ids.push(res.body.id);
    }
    const list = (query: string) => ctx.t.http.get<Items<Run> & ErrorResponse>(`/api/projects/${project.id}/test-runs?${query}`);

    const seen: string[][] = [];
    let cursor: string | null | undefined;
    do {
      const page = await list(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.is(page.status, 200, page.text);
      seen.push(page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(seen, [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);

    assert.is((await ctx.t.http.post<Run>(`/api/test-runs/${ids[1]}/cancel`)).status, 200);
    assert.is((await progress(ctx, ids[2]!, { processedFrames: 3, totalFrames: 100 })).body.status, 'running');
    assert.equal((await list('status=cancelled')).body.items.map((r) => r.id), [ids[1]]);
    assert.equal((await list('status=running')).body.items.map((r) => r.id), [ids[2]]);
    assert.equal((await list('status=queued')).body.items.map((r) => r.id), [ids[0], ids[3], ids[4]]);

    const second = await ctx.t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
    const onSecond = await createRun(ctx, project.id, { videoId: video.id, sessionId: second.body.id });
    assert.equal((await list(`sessionId=${second.body.id}`)).body.items.map((r) => r.id), [onSecond.body.id]);
    assert.equal((await list(`sessionId=${session.id}&status=queued&limit=1`)).body.items.map((r) => r.id), [ids[0]]);
  });

  test('the run list refuses a cursor it did not make (400 naming cursor) and a page past 500 runs (400 naming limit)', async (ctx) => {
    const { project, video, session } = await linkedSession(ctx.t.http);
    assert.is((await createRun(ctx, project.id, { videoId: video.id, sessionId: session.id })).status, 201);
    const list = (query: string) => ctx.t.http.get<Items<Run> & ErrorResponse>(`/api/projects/${project.id}/test-runs?${query}`);
    const first = await list('limit=1');
    assert.is(first.status, 200);

    // Not base64 JSON, and keys the database would not take as a timestamp (those were a 500).
    const keys = [['yesterday', 'x'], ['not a date', 'x'], ['2020', 'x'], ['2026-02-30T00:00:00.000Z', 'x'], [first.body.items[0]!.id, 'x']];
    for (const forged of ['not-a-cursor', ...keys.map((key) => Buffer.from(JSON.stringify(key)).toString('base64url'))]) {
      const res = await list(`cursor=${forged}`);
      assert.is(res.status, 400, `${Buffer.from(forged, 'base64url').toString()}: ${res.text}`);
      assert.equal(res.body.error.details?.map((d) => [d.field, d.code]), [['cursor', 'invalid_cursor']]);
    }
    assert.is((await list('limit=500')).status, 200, 'the largest page');
    const tooLarge = await list('limit=501');
    assert.is(tooLarge.status, 400, tooLarge.text);
    assert.equal(tooLarge.body.error.details?.map((d) => d.field), ['limit']);
  });

  test('a run whose ground-truth session was deleted (archived) is still scored against that session’s annotations', async (ctx) => {
    const { project, video, session } = await linkedSession(ctx.t.http);
    const truth = await ctx.t.http.post(`/api/sessions/${session.id}/annotations`, { frame: 0, bbox: [1, 1, 5, 5], label: 'car' });
    assert.is(truth.status, 201, truth.text);
    const run = (await createRun(ctx, project.id, { videoId: video.id, sessionId: session.id })).body;
    assert.is((await progress(ctx, run.id, { processedFrames: 50, totalFrames: 100 })).status, 200);
    const found = [{ frame: 0, bbox: [1, 1, 5, 5], label: 'car', score: 0.9 }, { frame: 1, bbox: [1, 1, 5, 5], label: 'car', score: 0.8 }];
    assert.is((await ctx.t.http.post(`/api/test-runs/${run.id}/detections`, found)).status, 200);
    assert.is((await ctx.t.http.delete(`/api/sessions/${session.id}`)).status, 204);
    assert.is((await ctx.t.http.get(`/api/sessions/${session.id}`)).status, 404, 'the session left the API');

    const done = await progress(ctx, run.id, { processedFrames: 100, totalFrames: 100, status: 'completed' });
    assert.is(done.status, 200, done.text);
    assert.is(done.body.status, 'completed');
    const stored = done.body.evaluation as { overall: { tp: number; fp: number; fn: number } } | null;
    assert.equal(stored && [stored.overall.tp, stored.overall.fp, stored.overall.fn], [1, 1, 0], 'the evaluation stored on completion');
    const evaluation = await ctx.t.http.get<{ overall: { tp: number; fp: number }; groundTruth: { sessionId: string; annotations: number } }>(`/api/test-runs/${run.id}/evaluation`);
    assert.is(evaluation.status, 200, evaluation.text);
    assert.equal([evaluation.body.overall.tp, evaluation.body.overall.fp], [1, 1]);
    const release = (run as unknown as { groundTruth: { releaseId: string; contentHash: string } }).groundTruth;
    assert.equal(evaluation.body.groundTruth, { sessionId: session.id, releaseId: release.releaseId, contentHash: release.contentHash, annotations: 1 });
  });

  test.run();
}
