/**
 * `GET /api/sessions/:id/annotations?expand=tracks` expands tracks into one box per frame of the
 * window; one call may produce at most 200 000 boxes (frames in the window × tracks asked for,
 * MAX_TRACK_BOXES in the annotations route). At the limit it answers, one frame past it is a 400
 * naming toFrame, and narrowing by track counts only the tracks asked for.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { linkedSession, startApiServer, type AnnotationPageBody, type ApiTestServer, type ErrorResponse, type TrackBody } from '../../tools/api.ts';

const LIMIT = 200_000;

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  base: string;
  tracks: string[];
}

const test = suite<Ctx>('expand=tracks window limit');
test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.t = await startApiServer(ctx.storage);
  // Two tracks over a video one frame longer than the limit allows for both.
  const { session } = await linkedSession(ctx.t.http, { video: { frameCount: LIMIT / 2 + 1 } });
  ctx.base = `/api/sessions/${session.id}`;
  ctx.tracks = [];
  for (const label of ['car', 'person']) {
    const track = await ctx.t.http.post<TrackBody>(`${ctx.base}/tracks`, { label });
    assert.is(track.status, 201, track.text);
    ctx.tracks.push(track.body.id);
    // Visible on frame 0 only (it walks out of view on frame 1), so answers stay small.
    for (const [frame, outside] of [[0, false], [1, true]] as const) {
      const res = await ctx.t.http.post(`${ctx.base}/annotations`, { frame, bbox: [10, 10, 20, 20], label, trackId: track.body.id, outside });
      assert.is(res.status, 201, res.text);
    }
  }
});
test.after(async (ctx) => {
  await ctx.t.stop();
  await ctx.storage.cleanup();
});

const list = (ctx: Ctx, query: string) => ctx.t.http.get<AnnotationPageBody & ErrorResponse>(`${ctx.base}/annotations?expand=tracks&${query}`);

test('a window of exactly the limit (2 tracks × 100 000 frames) is expanded', async (ctx) => {
  const res = await list(ctx, `fromFrame=0&toFrame=${LIMIT / 2 - 1}`);
  assert.is(res.status, 200, res.text);
  assert.equal(res.body.trackBoxes?.map((b) => [b.trackId, b.frame]).sort(), ctx.tracks.map((id) => [id, 0]).sort());
});

test('one frame past the limit is a 400 naming toFrame, and so is the whole video when no window is given', async (ctx) => {
  for (const query of [`fromFrame=0&toFrame=${LIMIT / 2}`, '']) {
    const res = await list(ctx, query);
    assert.is(res.status, 400, `${query}: ${res.text}`);
    assert.equal(res.body.error.details?.map((d) => [d.field, d.code]), [['toFrame', 'window_too_large']]);
    assert.ok(res.body.error.message.includes(String(LIMIT)), res.body.error.message);
  }
});

test('only the tracks asked for count: one track over the whole video is expanded', async (ctx) => {
  for (const query of [`trackId=${ctx.tracks[0]}`, 'label=person']) {
    const res = await list(ctx, query);
    assert.is(res.status, 200, `${query}: ${res.text}`);
    assert.is(res.body.trackBoxes?.length, 1, query);
  }
  const one = await list(ctx, 'frame=0');
  assert.is(one.body.trackBoxes?.length, 2, 'a single frame');
});

test.run();
