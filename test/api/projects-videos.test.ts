/**
 * Projects, videos, project–video links, matching and the ground-truth list over real HTTP, plus
 * the body rules every route shares (400 / 413 / 415 / 422).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { createProject, createVideo, type ErrorResponse, type Items, type LinkBody, type ProjectBody, type SessionBody, type VideoBody, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`REST projects and videos (${kind})`);
  withApiServer(test, kind);

  test('projects: create, get, list, patch, add labels, delete', async ({ t }) => {
    const created = await t.http.post<ProjectBody>('/api/projects', {
      name: 'Pedestrians',
      labels: [{ name: 'person', color: '#00f' }],
      criteria: { tags: ['city'], fps: { min: 24, max: 30 } },
    });
    assert.is(created.status, 201);
    assert.is(created.headers.get('location'), `/api/projects/${created.body.id}`);
    assert.equal(created.body.criteria, { tags: ['city'], fps: { min: 24, max: 30 } });
    assert.equal((await t.http.get<ProjectBody>(`/api/projects/${created.body.id}`)).body, created.body);
    const listed = await t.http.get<Items<ProjectBody>>('/api/projects?limit=500');
    assert.ok(listed.body.items.some((p) => p.id === created.body.id));
    const patched = await t.http.patch<ProjectBody>(`/api/projects/${created.body.id}`, { description: 'walkers' });
    assert.is(patched.body.description, 'walkers');
    const labelled = await t.http.post<ProjectBody>(`/api/projects/${created.body.id}/labels`, { labels: [{ name: 'stroller' }, { name: 'person', color: '#0f0' }] });
    assert.equal(labelled.body.labels, [{ name: 'person', color: '#0f0' }, { name: 'stroller' }]);
    assert.is((await t.http.delete(`/api/projects/${created.body.id}`)).status, 204);
    assert.is((await t.http.get<ErrorResponse>(`/api/projects/${created.body.id}`)).body.error.code, 'not_found');
  });

  test('errors: unknown id 404, malformed JSON 400, wrong type 415, too large 413, invalid 422 naming the field', async ({ t }) => {
    const missing = await t.http.get<ErrorResponse>('/api/projects/nope');
    assert.is(missing.status, 404);
    assert.is(missing.body.error.code, 'not_found');
    assert.is((await t.http.get('/api/projects/not%20an%20id')).status, 404);

    const malformed = await t.http.request<ErrorResponse>('POST', '/api/projects', undefined, { headers: { 'content-type': 'application/json' }, raw: '{"name": ' });
    assert.is(malformed.status, 400);
    assert.is(malformed.body.error.code, 'malformed_json');

    const wrongType = await t.http.request<ErrorResponse>('POST', '/api/projects', undefined, { headers: { 'content-type': 'text/plain' }, raw: 'name=x' });
    assert.is(wrongType.status, 415);
    assert.is(wrongType.body.error.code, 'unsupported_media_type');

    const big = await t.http.request<ErrorResponse>('POST', '/api/projects', undefined, {
      headers: { 'content-type': 'application/json' },
      raw: JSON.stringify({ name: 'x', description: 'y'.repeat(1024 * 1024) }),
    });
    assert.is(big.status, 413);
    assert.is(big.body.error.code, 'too_large');

    const invalid = await t.http.post<ErrorResponse>('/api/projects', { name: '', labels: [{ name: 'a' }, { name: 'a' }], criteria: { namePattern: '(' } });
    assert.is(invalid.status, 422);
    const fields = invalid.body.error.details?.map((d) => d.field);
    assert.equal(fields?.sort(), ['criteria.namePattern', 'labels', 'name']);

    const badQuery = await t.http.get<ErrorResponse>('/api/projects?limit=abc');
    assert.is(badQuery.status, 400);
    assert.equal(badQuery.body.error.details?.map((d) => d.field), ['limit']);
    const badCursor = await t.http.get<ErrorResponse>('/api/projects?cursor=zzz');
    assert.is(badCursor.status, 400);
    assert.ok(!badCursor.text.includes('select') && !badCursor.text.includes('at '), 'no SQL or stack in a body');
  });

  test('videos: create (duration from frames), get, filter, patch, delete; 409 on a taken id', async ({ t }) => {
    const a = await createVideo(t.http, { name: 'Rainy night 01', tags: ['night', 'rain'], frameCount: 250, fps: 25 });
    assert.is(a.durationSec, 10);
    const b = await createVideo(t.http, { name: 'Sunny day', tags: ['day'], checksum: 'sha256:1' });
    const taken = await t.http.post<ErrorResponse>('/api/videos', { id: b.id, name: 'x', uri: 'u', width: 1, height: 1, fps: 1, frameCount: 1 });
    assert.is(taken.status, 409);
    assert.equal((await t.http.get<VideoBody>(`/api/videos/${a.id}`)).body, a);
    const byTag = await t.http.get<Items<VideoBody>>('/api/videos?tag=rain&limit=500');
    assert.equal(byTag.body.items.map((v) => v.id), [a.id]);
    const byName = await t.http.get<Items<VideoBody>>('/api/videos?q=NIGHT&limit=500');
    assert.equal(byName.body.items.map((v) => v.id), [a.id]);
    const patched = await t.http.patch<VideoBody>(`/api/videos/${b.id}`, { tags: ['day', 'noon'], checksum: null });
    assert.equal([patched.body.tags, patched.body.checksum], [['day', 'noon'], null]);
    const invalid = await t.http.post<ErrorResponse>('/api/videos', { name: 'x', uri: 'u', width: 0, height: 10, fps: 25, frameCount: 1.5 });
    assert.equal(invalid.body.error.details?.map((d) => d.field).sort(), ['frameCount', 'width']);
    assert.is((await t.http.delete(`/api/videos/${b.id}`)).status, 204);
    assert.is((await t.http.delete(`/api/videos/${b.id}`)).status, 404);
  });

  test('video pages over HTTP cover every video exactly once', async ({ t }) => {
    const mine = new Set<string>();
    for (let i = 0; i < 12; i++) mine.add((await createVideo(t.http, { tags: ['paging'] })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Items<VideoBody> } = await t.http.get<Items<VideoBody>>(`/api/videos?tag=paging&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((v) => v.id));
      cursor = page.body.nextCursor ?? null;
    } while (cursor);
    assert.is(seen.length, 12);
    assert.equal(new Set(seen), mine);
  });

  test('links: assign (who and when), list, unknown ids 422, unassign with the open-session rule', async ({ t }) => {
    const project = await createProject(t.http);
    const v1 = await createVideo(t.http);
    const v2 = await createVideo(t.http);
    const assigned = await t.http.post<{ assigned: LinkBody[]; alreadyLinked: string[] }>(`/api/projects/${project.id}/videos`, { videoIds: [v1.id, v2.id] });
    assert.is(assigned.status, 200);
    assert.equal(assigned.body.assigned.map((l) => [l.videoId, l.assignedBy]).sort(), [[v1.id, 'test-admin'], [v2.id, 'test-admin']].sort());
    assert.ok(Date.parse(assigned.body.assigned[0]!.assignedAt) > 0);
    const again = await t.http.post<{ assigned: LinkBody[]; alreadyLinked: string[] }>(`/api/projects/${project.id}/videos`, { videoIds: [v1.id] });
    assert.equal(again.body, { assigned: [], alreadyLinked: [v1.id] });
    const unknown = await t.http.post<ErrorResponse>(`/api/projects/${project.id}/videos`, { videoIds: [v1.id, 'ghost'] });
    assert.is(unknown.status, 422);
    assert.equal(unknown.body.error.details?.map((d) => d.field), ['videoIds[1]']);
    const listed = await t.http.get<Items<{ video: VideoBody; link: LinkBody }>>(`/api/projects/${project.id}/videos`);
    assert.equal(listed.body.items.map((i) => i.video.id).sort(), [v1.id, v2.id].sort());
    const unassigned = await t.http.get<Items<VideoBody>>('/api/videos?unassigned=true&limit=500');
    assert.not.ok(unassigned.body.items.some((v) => v.id === v1.id));

    const session = await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: v1.id });
    const refused = await t.http.delete<ErrorResponse>(`/api/projects/${project.id}/videos/${v1.id}`);
    assert.is(refused.status, 409);
    assert.is(refused.body.error.code, 'open_session');
    await t.http.patch(`/api/sessions/${session.body.id}`, { status: 'complete' });
    assert.is((await t.http.delete(`/api/projects/${project.id}/videos/${v1.id}`)).status, 204, 'a complete session does not block');
    const s2 = await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: v2.id });
    assert.is(s2.status, 201);
    assert.is((await t.http.delete(`/api/projects/${project.id}/videos/${v2.id}?force=true`)).status, 204, 'force unlinks anyway');
    assert.is((await t.http.delete<ErrorResponse>(`/api/projects/${project.id}/videos/${v2.id}`)).status, 409, 'not linked any more');
    assert.is((await t.http.delete(`/api/projects/${project.id}`)).status, 409, 'a project with sessions is not deleted by accident');
    assert.is((await t.http.delete(`/api/projects/${project.id}?force=true`)).status, 204);
  });

  test('suggestions rank unlinked videos with reasons, flag duplicates; auto-assign links the good ones', async ({ t }) => {
    const project = await createProject(t.http, { criteria: { tags: ['harbour'], minWidth: 1280, fps: { min: 25, max: 30 } } });
    const linked = await createVideo(t.http, { name: 'linked', tags: ['harbour'], width: 1920, height: 1080, checksum: 'sum-1' });
    await t.http.post(`/api/projects/${project.id}/videos`, { videoIds: [linked.id] });
    const best = await createVideo(t.http, { name: 'best', tags: ['harbour'], width: 1920, height: 1080, fps: 25 });
    const copy = await createVideo(t.http, { name: 'copy', tags: ['harbour'], width: 1920, height: 1080, fps: 25, checksum: 'sum-1' });
    const half = await createVideo(t.http, { name: 'half', tags: ['city'], width: 1920, height: 1080, fps: 25 });
    const low = await createVideo(t.http, { name: 'low', tags: ['city'], width: 640, height: 480, fps: 60 });
    type S = { video: VideoBody; score: number; reasons: string[]; duplicate: boolean; duplicateOf: string[] };
    const res = await t.http.get<Items<S>>(`/api/projects/${project.id}/videos/suggestions?limit=500`);
    const mine = res.body.items.filter((s) => [best.id, copy.id, half.id, low.id].includes(s.video.id));
    assert.equal(mine.map((s) => s.video.name), ['best', 'copy', 'half', 'low']);
    assert.not.ok(res.body.items.some((s) => s.video.id === linked.id), 'linked videos are not suggested');
    assert.equal(mine.map((s) => s.duplicate), [false, true, false, false]);
    assert.equal(mine[1]?.duplicateOf, [linked.id]);
    assert.is(mine[0]?.score, 1);
    assert.ok(mine.every((s) => s.reasons.length >= 3));
    const filtered = await t.http.get<Items<S>>(`/api/projects/${project.id}/videos/suggestions?minScore=0.9`);
    assert.ok(filtered.body.items.every((s) => s.score >= 0.9));

    const auto = await t.http.post<{ assigned: LinkBody[] }>(`/api/projects/${project.id}/videos/auto-assign`, { minScore: 0.5 });
    assert.equal(auto.body.assigned.map((l) => l.videoId).sort(), [best.id, half.id].sort(), 'duplicates and low scores stay out');
    const invalid = await t.http.post<ErrorResponse>(`/api/projects/${project.id}/videos/auto-assign`, { minScore: 2 });
    assert.equal(invalid.body.error.details?.map((d) => d.field), ['minScore']);
  });

  test('ground-truth videos carry their status and annotation counts', async ({ t }) => {
    const project = await createProject(t.http);
    const [none, busy, done] = [await createVideo(t.http), await createVideo(t.http), await createVideo(t.http)];
    await t.http.post(`/api/projects/${project.id}/videos`, { videoIds: [none.id, busy.id, done.id] });
    const s1 = (await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: busy.id })).body;
    const s2 = (await t.http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: done.id })).body;
    await t.http.post(`/api/sessions/${s1.id}/annotations`, [
      { frame: 0, bbox: [0, 0, 5, 5], label: 'car' },
      { frame: 1, bbox: [0, 0, 5, 5], label: 'car', status: 'validated' },
    ]);
    await t.http.patch(`/api/sessions/${s2.id}`, { status: 'complete' });
    type G = { video: VideoBody; status: string; annotations: { total: number; byStatus: Record<string, number> } };
    const statusOf = async () => {
      const res = await t.http.get<Items<G>>(`/api/projects/${project.id}/ground-truth/videos`);
      return new Map(res.body.items.map((g) => [g.video.id, g]));
    };
    const result = (await waitFor(async () => {
      const m = await statusOf();
      return m.get(busy.id)?.annotations.total === 2 ? m : null;
    }, { message: 'counts follow the documents' }))!;
    assert.equal([result.get(none.id)?.status, result.get(busy.id)?.status, result.get(done.id)?.status], ['none', 'in_progress', 'complete']);
    assert.equal(result.get(busy.id)?.annotations.byStatus, { draft: 1, validated: 1 });
  });

  test.run();
}
