/**
 * Sessions created with an id of the caller's choosing (`POST /api/projects/:id/sessions { id }`):
 * the id names the session and its document; a taken id is a 409 naming `id` that leaves the
 * existing session and its annotations as they were.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestStorage } from '../../tools/server.ts';
import { createVideo, linkedSession, startApiServer, type ErrorResponse, type Items, type AnnotationBody, type SessionBody } from '../../tools/api.ts';

test('a chosen session id names the session and its document; taken, it is a 409 naming id and nothing changes', async () => {
  const storage = await createTestStorage('pglite');
  const t = await startApiServer(storage);
  try {
    const { project, video } = await linkedSession(t.http);
    const created = await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id, id: 'gt-clip-7' });
    assert.is(created.status, 201, created.text);
    assert.is(created.body.id, 'gt-clip-7');
    assert.is(created.body.docName, 'session:gt-clip-7');
    assert.is(created.headers.get('location'), '/api/sessions/gt-clip-7');
    assert.is((await t.http.post(`/api/sessions/gt-clip-7/annotations`, { frame: 2, bbox: [1, 1, 5, 5], label: 'car' })).status, 201);

    // Taken, even from another video of the project: ids are global.
    const other = await createVideo(t.http);
    assert.is((await t.http.post(`/api/projects/${project.id}/videos`, { videoIds: [other.id] })).status, 200);
    for (const videoId of [video.id, other.id]) {
      const again = await t.http.post<ErrorResponse>(`/api/projects/${project.id}/sessions`, { videoId, id: 'gt-clip-7' });
      assert.is(again.status, 409, again.text);
      assert.is(again.body.error.code, 'taken');
      assert.equal(again.body.error.details?.map((d) => d.field), ['id']);
    }
    const kept = await t.http.get<SessionBody>('/api/sessions/gt-clip-7');
    assert.is(kept.body.videoId, video.id, 'the session still annotates its video');
    const annotations = await t.http.get<Items<AnnotationBody>>('/api/sessions/gt-clip-7/annotations');
    assert.equal(annotations.body.items.map((a) => a.frame), [2], 'its annotations are kept');
    const sessions = await t.http.get<Items<SessionBody>>(`/api/projects/${project.id}/sessions`);
    assert.is(sessions.body.items.filter((s) => s.id === 'gt-clip-7').length, 1);
  } finally {
    await t.stop();
    await storage.cleanup();
  }
});

test.run();
