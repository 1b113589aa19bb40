/**
 * Releases over real HTTP, on each database: the answer and its counts, a taken name, roles, the
 * `session.released` event stored with the release, exports byte-identical to the live export at
 * release time (whatever happens to the session after), equal content giving equal hashes across
 * different edit histories, the diff on hand-made cases (move, relabel, delete, add, track change,
 * to another release and to live, paged and summary), deleting a release a run uses, and project
 * releases (one transaction, byte-identical project export).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addAnnotations, deleteAnnotation, listAnnotations, updateAnnotation } from '../../docs-model/index.ts';
import { annotationsMap } from '../../docs-model/annotations.ts';
import { freezeSession, releaseContentHash } from '../../docs-model/release-content.ts';
import { connectClient, synced } from '../../tools/clients.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { linkedSession, type ApiTestServer, type ErrorResponse, type JsonClient, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

interface Release {
  id: string;
  sessionId: string;
  name: string;
  note: string | null;
  createdAt: string;
  createdBy: string;
  contentHash: string;
  counts: { annotations: number; tracks: number; boxes: number; perLabel: Record<string, { annotations: number; boxes: number }> };
}

interface Change {
  type: 'annotation' | 'track';
  change: 'added' | 'removed' | 'changed';
  id: string;
  fields?: Array<{ field: string; from: unknown; to: unknown }>;
  iou?: number;
}

interface Diff {
  summary: { annotations: { added: number; removed: number; changed: number }; tracks: { added: number; removed: number; changed: number }; perLabel: Record<string, { from: { annotations: number }; to: { annotations: number } }> };
  changes?: Change[];
  nextCursor?: string | null;
}

const bytes = async (t: ApiTestServer, path: string): Promise<Buffer> => {
  const res = await fetch(t.url + path, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.is(res.status, 200, path);
  return Buffer.from(await res.arrayBuffer());
};

const release = async (http: JsonClient, sessionId: string, name: string): Promise<Release> => {
  const res = await http.post<Release>(`/api/sessions/${sessionId}/releases`, { name });
  assert.is(res.status, 201, res.text);
  return res.body;
};

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`releases over REST (${kind})`);
  withApiServer(test, kind);

  test('a release answers its id, hash and counts; a taken name is 409; viewers read but cannot release; session.released is stored', async ({ t }) => {
    const { http } = t;
    const { project, session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    assert.is((await http.post(`${s}/tracks`, { id: 't1', label: 'person' })).status, 201);
    const made = await http.post(`${s}/annotations`, [
      { id: 'a1', frame: 0, bbox: [0, 0, 10, 10], label: 'car' },
      { id: 'a2', frame: 5, bbox: [20, 20, 10, 10], label: 'car' },
      // Track t1: frames 10…19 visible (10 boxes), gone from 20.
      { id: 'k1', frame: 10, bbox: [50, 50, 10, 10], label: 'person', trackId: 't1' },
      { id: 'k2', frame: 20, bbox: [60, 50, 10, 10], label: 'person', trackId: 't1', outside: true },
    ]);
    assert.is(made.status, 201, made.text);
    const res = await http.post<Release>(`${s}/releases`, { name: 'v1', note: 'first cut' });
    assert.is(res.status, 201, res.text);
    const r = res.body;
    assert.is(res.headers.get('location'), `${s}/releases/${r.id}`);
    assert.equal([r.sessionId, r.name, r.note, r.createdBy], [session.id, 'v1', 'first cut', 'test-admin']);
    assert.match(r.contentHash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.counts, { annotations: 4, tracks: 1, boxes: 12, perLabel: { car: { annotations: 2, boxes: 2 }, person: { annotations: 2, boxes: 10 } } });

    const taken = await http.post<ErrorResponse>(`${s}/releases`, { name: 'v1' });
    assert.is(taken.status, 409, taken.text);
    assert.is(taken.body.error.code, 'release_name_taken');
    assert.is((await http.post<ErrorResponse>(`${s}/releases`, { name: '' })).status, 422);

    const viewer = await t.token({ sub: 'vera', projects: { [project.id]: 'viewer' } });
    const asViewer = await http.request(`POST`, `${s}/releases`, { name: 'v2' }, { headers: { authorization: `Bearer ${viewer}` } });
    assert.is(asViewer.status, 403);
    const read = await http.request<Release>('GET', `${s}/releases/${r.id}`, undefined, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(read.body, r);
    const list = await http.get<{ items: Release[] }>(`${s}/releases`);
    assert.equal(list.body.items.map((x) => x.id), [r.id]);
    const stranger = await t.token({ sub: 'sam', projects: {} });
    assert.is((await http.request('GET', `${s}/releases/${r.id}`, undefined, { headers: { authorization: `Bearer ${stranger}` } })).status, 404);

    const events = await t.knex('events').where({ project_id: project.id, type: 'session.released' }).select('data', 'actor');
    assert.is(events.length, 1);
    const data = (typeof events[0].data === 'string' ? JSON.parse(events[0].data) : events[0].data) as { sessionId: string; release: Release };
    assert.equal([data.sessionId, data.release.id, data.release.contentHash, events[0].actor], [session.id, r.id, r.contentHash, 'test-admin']);
  });

  test('every export of a release is byte-identical to the live export when it was made, whatever the session does after', async ({ t }) => {
    const { http } = t;
    const { session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    assert.is((await http.post(`${s}/tracks`, { id: 't1', label: 'person' })).status, 201);
    assert.is(
      (await http.post(`${s}/annotations`, [
        { id: 'a1', frame: 0, bbox: [0, 0, 10, 10], label: 'car', attributes: { make: 'x' } },
        { id: 'k1', frame: 3, bbox: [50, 50, 10, 10], label: 'person', trackId: 't1' },
        { id: 'k2', frame: 7, bbox: [70, 50, 10, 10], label: 'person', trackId: 't1' },
      ])).status,
      201,
    );
    const queries = ['coco', 'yolo', 'ultralytics', 'voc', 'json', 'coco&keyframesOnly=true', 'voc&vocOffset=1', 'ultralytics&valFraction=0.2'];
    const live = new Map<string, Buffer>();
    for (const q of queries) live.set(q, await bytes(t, `${s}/export?format=${q}`));
    const r = await release(http, session.id, 'frozen');
    // The session moves on: a box moved, one deleted, one added, a label added.
    assert.is((await http.patch(`${s}/annotations/a1`, { bbox: [5, 5, 10, 10] })).status, 200);
    assert.is((await http.delete(`${s}/annotations/k2`)).status, 204);
    assert.is((await http.post(`${s}/annotations`, { id: 'a9', frame: 9, bbox: [1, 1, 5, 5], label: 'bike' })).status, 201);
    for (const q of queries) {
      const frozen = await bytes(t, `${s}/releases/${r.id}/export?format=${q}`);
      assert.ok(frozen.equals(live.get(q)!), `format=${q}: release export equals the live export at release time`);
    }
    assert.not.ok((await bytes(t, `${s}/export?format=coco`)).equals(live.get('coco')!), 'the live export has moved on');
    const report = await http.get<{ summary: string }>(`${s}/releases/${r.id}/export?format=yolo&report=true`);
    assert.is(report.status, 200);
    assert.type(report.body.summary, 'string');
  });

  test('a release holds the document as readSession reads it, a large socket write just before included; a diff to live sees socket edits', async ({ t }) => {
    const { http } = t;
    const { session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    const name = `session:${session.id}`;
    const writer = connectClient(t.url, name, { params: { token: t.adminToken } });
    // A second peer: once it holds an edit, the server has applied it (and its read index may still be behind).
    const watcher = connectClient(t.url, name, { params: { token: t.adminToken } });
    const holds = (n: number) => waitFor(() => annotationsMap(watcher.doc).size === n, { timeoutMs: 15_000, message: `the watcher never held ${n} annotations` });
    try {
      await Promise.all([synced(writer.provider), synced(watcher.provider)]);
      const inputs = Array.from({ length: 300 }, (_, i) => ({ id: `w${String(299 - i).padStart(3, '0')}`, frame: (i * 7) % 40, bbox: [i, i, 10, 10] as [number, number, number, number], label: i % 2 ? 'car' : 'person' }));
      addAnnotations(writer.doc, inputs, { by: 'client' });
      await holds(300);
      const r = await release(http, session.id, 'from-the-socket');
      assert.is(r.counts.annotations, 300);
      assert.is(r.contentHash, await releaseContentHash(freezeSession(writer.doc)), 'the hash of what readSession reads');
      const exported = JSON.parse((await bytes(t, `${s}/releases/${r.id}/export?format=json`)).toString()) as { annotations: Array<{ id: string }> };
      assert.equal(exported.annotations.map((a) => a.id), listAnnotations(writer.doc).map((a) => a.id), 'in readSession order (frame, then id)');

      updateAnnotation(writer.doc, 'w010', { bbox: [1, 2, 3, 4] }, { by: 'client' });
      deleteAnnotation(writer.doc, 'w020');
      await holds(299);
      await waitFor(() => JSON.stringify(annotationsMap(watcher.doc).get('w010')?.get('bbox')) === '[1,2,3,4]', { timeoutMs: 15_000, message: 'the move never reached the watcher' });
      const live = await http.get<Diff>(`${s}/releases/${r.id}/diff?to=live`);
      assert.is(live.status, 200, live.text);
      assert.equal(live.body.changes!.map((c) => `${c.id}:${c.change}`), ['w010:changed', 'w020:removed']);
    } finally {
      writer.destroy();
      watcher.destroy();
    }
  });

  test('a release read back from the database, past the kept contents, exports and diffs as it did when it was made', async ({ t }) => {
    const { http } = t;
    const { session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    assert.is((await http.post(`${s}/annotations`, Array.from({ length: 40 }, (_, i) => ({ id: `b${i}`, frame: i, bbox: [i, 1, 10, 10], label: 'car', attributes: { note: `"annotations":[${i}]}}` } })))).status, 201);
    const first = await release(http, session.id, 'first');
    const made = await bytes(t, `${s}/releases/${first.id}/export?format=json`);
    // More releases than the service keeps decoded (8): the first is read back from its row.
    for (let i = 0; i < 9; i++) {
      assert.is((await http.patch(`${s}/annotations/b${i}`, { bbox: [i, 2, 10, 10] })).status, 200);
      await release(http, session.id, `later-${i}`);
    }
    assert.ok((await bytes(t, `${s}/releases/${first.id}/export?format=json`)).equals(made), 'the same export');
    const live = await http.get<Diff>(`${s}/releases/${first.id}/diff?to=live&summary=true`);
    assert.equal(live.body.summary.annotations, { added: 0, removed: 0, changed: 9 });
  });

  test('equal content gives equal hashes across different histories; different content a different hash', async ({ t }) => {
    const { http } = t;
    const one = (await linkedSession(http)).session;
    const two = (await linkedSession(http)).session;
    const a = `/api/sessions/${one.id}`;
    const b = `/api/sessions/${two.id}`;
    // Session one: straight to the content.
    assert.is((await http.post(`${a}/annotations`, [{ id: 'x', frame: 1, bbox: [1, 2, 3, 4], label: 'car' }, { id: 'y', frame: 2, bbox: [5, 6, 7, 8], label: 'person' }])).status, 201);
    // Session two: other order, a detour (moved and moved back, relabelled and back), an extra box deleted.
    assert.is((await http.post(`${b}/annotations`, { id: 'y', frame: 2, bbox: [50, 6, 7, 8], label: 'bike' })).status, 201);
    assert.is((await http.post(`${b}/annotations`, { id: 'z', frame: 3, bbox: [1, 1, 1, 1], label: 'car' })).status, 201);
    assert.is((await http.post(`${b}/annotations`, { id: 'x', frame: 1, bbox: [1, 2, 3, 4], label: 'car' })).status, 201);
    assert.is((await http.patch(`${b}/annotations/y`, { bbox: [5, 6, 7, 8], label: 'person' })).status, 200);
    assert.is((await http.delete(`${b}/annotations/z`)).status, 204);
    const [ra, rb] = [await release(http, one.id, 'r'), await release(http, two.id, 'r')];
    // Sessions one and two are on videos with the same size, fps and frame count but different ids.
    assert.is.not(ra.contentHash, rb.contentHash, 'the video is part of the ground truth');
    // The same session twice, around an edit that was undone: equal.
    assert.is((await http.patch(`${a}/annotations/x`, { bbox: [9, 9, 3, 4] })).status, 200);
    assert.is((await http.patch(`${a}/annotations/x`, { bbox: [1, 2, 3, 4] })).status, 200);
    const again = await release(http, one.id, 'r2');
    assert.is(again.contentHash, ra.contentHash);
    assert.is((await http.patch(`${a}/annotations/x`, { occluded: true })).status, 200);
    assert.is.not((await release(http, one.id, 'r3')).contentHash, ra.contentHash);
  });

  test('diff: moved, relabelled, deleted, added, track changed; to another release, to live, summary, pages', async ({ t }) => {
    const { http } = t;
    const { session } = await linkedSession(http);
    const s = `/api/sessions/${session.id}`;
    assert.is((await http.post(`${s}/tracks`, { id: 't1', label: 'person' })).status, 201);
    assert.is(
      (await http.post(`${s}/annotations`, [
        { id: 'move', frame: 0, bbox: [0, 0, 10, 10], label: 'car' },
        { id: 'relabel', frame: 1, bbox: [20, 20, 10, 10], label: 'car' },
        { id: 'gone', frame: 2, bbox: [40, 40, 10, 10], label: 'car' },
        { id: 'same', frame: 3, bbox: [60, 60, 10, 10], label: 'person' },
      ])).status,
      201,
    );
    const r1 = await release(http, session.id, 'before');
    assert.is((await http.patch(`${s}/annotations/move`, { bbox: [5, 0, 10, 10] })).status, 200);
    assert.is((await http.patch(`${s}/annotations/relabel`, { label: 'bike' })).status, 200);
    assert.is((await http.delete(`${s}/annotations/gone`)).status, 204);
    assert.is((await http.post(`${s}/annotations`, { id: 'new', frame: 4, bbox: [1, 1, 5, 5], label: 'bike' })).status, 201);
    assert.is((await http.patch(`${s}/tracks/t1`, { label: 'car' })).status, 200);
    const r2 = await release(http, session.id, 'after');

    const d = await http.get<Diff>(`${s}/releases/${r1.id}/diff?to=${r2.id}`);
    assert.is(d.status, 200, d.text);
    assert.equal(d.body.summary.annotations, { added: 1, removed: 1, changed: 2 });
    assert.equal(d.body.summary.tracks, { added: 0, removed: 0, changed: 1 });
    assert.equal([d.body.summary.perLabel.car!.from.annotations, d.body.summary.perLabel.car!.to.annotations], [3, 1]);
    const byId = new Map(d.body.changes!.map((c) => [c.id, c]));
    assert.equal(d.body.changes!.map((c) => `${c.type}:${c.id}:${c.change}`), ['track:t1:changed', 'annotation:gone:removed', 'annotation:move:changed', 'annotation:new:added', 'annotation:relabel:changed']);
    assert.equal(byId.get('t1')!.fields, [{ field: 'label', from: 'person', to: 'car' }]);
    assert.equal(byId.get('move')!.fields, [{ field: 'bbox', from: [0, 0, 10, 10], to: [5, 0, 10, 10] }]);
    // Two 10×10 boxes 5 px apart: 50 / 150.
    assert.ok(Math.abs(byId.get('move')!.iou! - 1 / 3) < 1e-9, `iou ${byId.get('move')!.iou}`);
    assert.equal(byId.get('relabel')!.fields, [{ field: 'label', from: 'car', to: 'bike' }]);

    const summary = await http.get<Diff>(`${s}/releases/${r1.id}/diff?to=${r2.id}&summary=true`);
    assert.equal(summary.body.summary, d.body.summary);
    assert.is(summary.body.changes, undefined);

    const pages: Change[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await http.get<Diff>(`${s}/releases/${r1.id}/diff?to=${r2.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.is(page.status, 200, page.text);
      assert.ok(page.body.changes!.length <= 2);
      pages.push(...page.body.changes!);
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(pages, d.body.changes);

    // To live: the release after, plus one more edit.
    assert.is((await http.delete(`${s}/annotations/same`)).status, 204);
    const live = await http.get<Diff>(`${s}/releases/${r2.id}/diff?to=live`);
    assert.equal(live.body.changes!.map((c) => `${c.id}:${c.change}`), ['same:removed']);
    assert.is((await http.get(`${s}/releases/${r1.id}/diff?to=${r1.id}`)).status, 200);
    assert.is((await http.get(`${s}/releases/${r1.id}/diff?to=nope`)).status, 404);
    assert.is((await http.get(`${s}/releases/${r1.id}/diff?to=live&cursor=zzz`)).status, 422);
    assert.is((await http.get(`${s}/releases/${r1.id}/diff`)).status, 400, 'to is required');
  });

  test('a release a run is scored against cannot be deleted (409 naming the run); an unused one can', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const used = await release(http, session.id, 'used');
    const spare = await release(http, session.id, 'spare');
    const run = await http.post<{ id: string; releaseId: string; groundTruth: { releaseId: string; created: boolean; name: string } }>(`/api/projects/${project.id}/test-runs`, {
      videoId: video.id,
      sessionId: session.id,
      model: { name: 'm' },
      groundTruth: { releaseId: used.id },
    });
    assert.is(run.status, 201, run.text);
    assert.equal([run.body.releaseId, run.body.groundTruth.releaseId, run.body.groundTruth.created, run.body.groundTruth.name], [used.id, used.id, false, 'used']);
    const refused = await http.delete<ErrorResponse>(`/api/sessions/${session.id}/releases/${used.id}`);
    assert.is(refused.status, 409, refused.text);
    assert.ok(refused.body.error.message.includes(run.body.id), refused.text);
    assert.is((await http.delete(`/api/sessions/${session.id}/releases/${spare.id}`)).status, 204);
    assert.is((await http.get(`/api/sessions/${session.id}/releases/${spare.id}`)).status, 404);

    const auto = await http.post<{ releaseId: string; groundTruth: { releaseId: string; created: boolean; name: string } }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' } });
    assert.is(auto.status, 201, auto.text);
    assert.ok(auto.body.groundTruth.created);
    assert.match(auto.body.groundTruth.name, /^auto-\d{4}-\d\d-\d\dT/);
    const other = (await linkedSession(http)).session;
    const foreign = await release(http, other.id, 'elsewhere');
    const wrong = await http.post<ErrorResponse>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' }, groundTruth: { releaseId: foreign.id } });
    assert.is(wrong.status, 404, 'a release of another project is not found');
  });

  test('test runs created at once on one session each get an auto release of their own', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const runs = await Promise.all(
      Array.from({ length: 12 }, () =>
        http.post<{ groundTruth: { releaseId: string; created: boolean; name: string } }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'm' } }),
      ),
    );
    for (const run of runs) assert.is(run.status, 201, run.text);
    assert.ok(runs.every((run) => run.body.groundTruth.created));
    assert.is(new Set(runs.map((run) => run.body.groundTruth.releaseId)).size, 12);
    assert.is(new Set(runs.map((run) => run.body.groundTruth.name)).size, 12);
    for (const run of runs) assert.match(run.body.groundTruth.name, /^auto-\d{4}-\d\d-\d\dT[\d:.]+Z(-[0-9a-f]{6})?$/);
  });

  test('a project release: one per session in one transaction, a taken name anywhere makes none, exports as the project did', async ({ t }) => {
    const { http } = t;
    const { project, video, session } = await linkedSession(http);
    const second = await http.post<{ id: string }>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
    assert.is(second.status, 201, second.text);
    assert.is((await http.post(`/api/sessions/${session.id}/annotations`, { frame: 0, bbox: [0, 0, 10, 10], label: 'car' })).status, 201);
    assert.is((await http.post(`/api/sessions/${second.body.id}/annotations`, { frame: 1, bbox: [5, 5, 10, 10], label: 'person' })).status, 201);
    await release(http, second.body.id, 'taken');
    const refused = await http.post<ErrorResponse>(`/api/projects/${project.id}/releases`, { name: 'taken' });
    assert.is(refused.status, 409, refused.text);
    const mine = await http.get<{ items: Release[] }>(`/api/sessions/${session.id}/releases`);
    assert.equal(mine.body.items, [], 'nothing released in the other session either');

    const live = new Map<string, Buffer>();
    for (const q of ['coco', 'json', 'yolo', 'voc']) live.set(q, await bytes(t, `/api/projects/${project.id}/export?format=${q}`));
    const made = await http.post<{ batchId: string; name: string; releases: Release[] }>(`/api/projects/${project.id}/releases`, { name: 'all' });
    assert.is(made.status, 201, made.text);
    assert.equal(made.body.releases.map((r) => r.sessionId).sort(), [session.id, second.body.id].sort());
    assert.ok(made.body.releases.every((r) => r.name === 'all'));
    assert.is((await http.post(`/api/sessions/${session.id}/annotations`, { frame: 2, bbox: [0, 0, 10, 10], label: 'bike' })).status, 201);
    for (const [q, expected] of live) {
      const frozen = await bytes(t, `/api/projects/${project.id}/releases/${made.body.batchId}/export?format=${q}`);
      assert.ok(frozen.equals(expected), `project release export, format=${q}`);
    }
    const list = await http.get<{ items: Array<{ batchId: string; name: string; releases: Release[] }> }>(`/api/projects/${project.id}/releases`);
    assert.equal(list.body.items.map((b) => [b.batchId, b.name, b.releases.length]), [[made.body.batchId, 'all', 2]]);
    const one = await http.get<{ releases: Release[] }>(`/api/projects/${project.id}/releases/${made.body.batchId}`);
    assert.equal(one.body.releases, list.body.items[0]!.releases);
    assert.is((await http.get(`/api/projects/${project.id}/releases/nope`)).status, 404);
  });

  test.run();
}
