/**
 * The `annotations` table follows the session documents through the real server: REST writes,
 * live edits and deletes; it survives a restart, and a document loaded after a restart is
 * re-projected in full (what a crash left unprojected is repaired).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addAnnotation, deleteAnnotation } from '../../docs-model/index.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced } from '../../tools/clients.ts';
import { linkedSession, startApiServer, type AnnotationBody, type AnnotationPageBody, type ApiTestServer, type Items } from '../../tools/api.ts';

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
}

/** The projection rows, as `id:frame:label:x:status`, against what the document says over REST. */
async function projected(t: ApiTestServer, sessionId: string): Promise<string[]> {
  const rows = (await t.knex('annotations').where({ session_id: sessionId }).orderBy(['frame', 'annotation_id'])) as Array<Record<string, unknown>>;
  return rows.map((r) => `${String(r.annotation_id)}:${String(r.frame)}:${String(r.label)}:${Number(r.x)}:${String(r.status)}`);
}

async function fromDocument(t: ApiTestServer, sessionId: string): Promise<string[]> {
  const page = await t.http.get<AnnotationPageBody>(`/api/sessions/${sessionId}/annotations?limit=5000`);
  return page.body.items.map((a) => `${a.id}:${a.frame}:${a.label}:${a.bbox[0]}:${a.status}`);
}

async function follows(t: ApiTestServer, sessionId: string, message: string): Promise<void> {
  await waitFor(async () => JSON.stringify(await projected(t, sessionId)) === JSON.stringify(await fromDocument(t, sessionId)), {
    timeoutMs: 5000,
    message,
  });
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`annotations projection end to end (${kind})`);
  test.before.each(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
  });
  test.after.each(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
  });

  test('follows REST and live writes, including deletes, within about a second', async ({ t }) => {
    const { session } = await linkedSession(t.http);
    const created = (await t.http.post<Items<AnnotationBody>>(`/api/sessions/${session.id}/annotations`, Array.from({ length: 30 }, (_, i) => ({ frame: i, bbox: [i, 0, 5, 5], label: 'car' })))).body.items;
    const started = Date.now();
    await follows(t, session.id, 'bulk create projected');
    assert.ok(Date.now() - started < 1000, 'within a second');
    await t.http.patch(`/api/sessions/${session.id}/annotations/${created[0]!.id}`, { label: 'person', status: 'rejected' });
    await t.http.delete(`/api/sessions/${session.id}/annotations/${created[1]!.id}`);
    await follows(t, session.id, 'REST patch and delete projected');

    const c = connectClient(t.url, session.docName, { params: { token: t.adminToken } });
    try {
      await synced(c.provider);
      const drawn = addAnnotation(c.doc, { frame: 99, bbox: [1, 1, 2, 2], label: 'bike' }, { by: 'browser' });
      deleteAnnotation(c.doc, created[2]!.id);
      await follows(t, session.id, 'live edits projected');
      assert.ok((await projected(t, session.id)).some((r) => r.startsWith(`${drawn.id}:99:bike`)));
      assert.not.ok((await projected(t, session.id)).some((r) => r.startsWith(created[2]!.id)));
    } finally {
      c.destroy();
    }
    assert.is((await projected(t, session.id)).length, 29, "30 created, one deleted over REST, one live, one drawn live");
  });

  test('survives a restart, and a document loaded after one is re-projected in full', async (ctx) => {
    const { session } = await linkedSession(ctx.t.http);
    await ctx.t.http.post(`/api/sessions/${session.id}/annotations`, Array.from({ length: 40 }, (_, i) => ({ frame: i % 10, bbox: [i, 0, 5, 5], label: 'car' })));
    await follows(ctx.t, session.id, 'projected before the restart');
    const before = await projected(ctx.t, session.id);
    await ctx.t.stop();

    ctx.t = await startApiServer(ctx.storage);
    assert.equal(await projected(ctx.t, session.id), before, 'rows kept across the restart');
    // What a crash between the update log commit and the projection flush would leave: a row for
    // an annotation that no longer exists and missing rows. Loading the document repairs it.
    await ctx.t.knex('annotations').where({ session_id: session.id }).whereIn('annotation_id', before.slice(0, 5).map((r) => r.split(':')[0] as string)).delete();
    await ctx.t.knex('annotations').insert({ session_id: session.id, annotation_id: 'ghost', frame: 1, label: 'car', x: 0, y: 0, w: 1, h: 1, status: 'draft', updated_at: 1 });
    await follows(ctx.t, session.id, 'repaired on load');
    assert.equal(await projected(ctx.t, session.id), before);
  });

  test.run();
}
