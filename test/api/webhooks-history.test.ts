/**
 * Webhooks and history through the real server, over REST and real sockets, on PGlite (and
 * Postgres): events reach an independent receiver signed, once each, with their data; the secret
 * is shown once; private targets are refused; the history names who moved and who relabelled a
 * box; the activity list survives a restart.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addAnnotation, getAnnotation, updateAnnotation, readDashboard } from '../../docs-model/index.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { connectClient, synced } from '../../tools/clients.ts';
import { startReceiver, type Receiver } from '../../tools/webhook-receiver.ts';
import { jsonClient, linkedSession, startApiServer, type ApiTestServer } from '../../tools/api.ts';

interface WebhookBody {
  id: string;
  url: string;
  events: string[];
  secret?: string;
  active: boolean;
}

interface HistoryBody {
  items: Array<{ by: string; origin: string; kind: string; fields: Record<string, { from: unknown; to: unknown }> }>;
}

const privateOk = { webhooks: { allowPrivate: true, retryBaseMs: 50 } };

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage; t: ApiTestServer; receiver: Receiver; secret: string | null }>(`webhooks and history (${kind})`);
  test.before.each(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage, privateOk);
    ctx.secret = null;
    ctx.receiver = await startReceiver({ secret: () => ctx.secret });
  });
  test.after.each(async (ctx) => {
    await ctx.t.stop();
    await ctx.receiver.close();
    await ctx.storage.cleanup();
  });

  test('session events reach the receiver signed, with their data; the secret is shown only once', async (ctx) => {
    const { http } = ctx.t;
    const { project, video } = await linkedSession(http);
    const created = await http.post<WebhookBody>(`/api/projects/${project.id}/webhooks`, {
      url: ctx.receiver.url,
      events: ['session.created', 'session.status_changed'],
    });
    assert.is(created.status, 201, created.text);
    ctx.secret = created.body.secret!;
    assert.match(ctx.secret, /^whsec_/);
    const read = await http.get<WebhookBody>(`/api/projects/${project.id}/webhooks/${created.body.id}`);
    assert.is(read.status, 200);
    assert.not.ok('secret' in read.body);

    const session = await http.post<{ id: string }>(`/api/projects/${project.id}/sessions`, { videoId: video.id, name: 'second' });
    assert.is(session.status, 201);
    assert.is((await http.patch(`/api/sessions/${session.body.id}`, { status: 'review' })).status, 200);
    assert.is((await http.patch(`/api/sessions/${session.body.id}`, { name: 'renamed' })).status, 200);
    await ctx.receiver.waitFor((got) => got.some((d) => d.eventType === 'session.status_changed'));
    const types = ctx.receiver.got.map((d) => d.eventType);
    assert.equal(types.filter((t) => t === 'session.status_changed').length, 1, 'a rename is no status change');
    assert.ok(ctx.receiver.got.every((d) => d.signatureValid));
    const change = ctx.receiver.got.find((d) => d.eventType === 'session.status_changed')!;
    assert.equal([change.event.projectId, change.event.data.from, change.event.data.to], [project.id, 'open', 'review']);
    const made = ctx.receiver.got.find((d) => d.eventType === 'session.created' && (d.event.data.session as { id: string }).id === session.body.id);
    assert.ok(made, 'session.created for the new session');

    // The receiver has a delivery before the dispatcher records its 2xx: wait for the record.
    const deliveries = await waitFor(
      async () => {
        const list = await http.get<{ items: Array<{ id: string; status: string; attempts: number }> }>(
          `/api/projects/${project.id}/webhooks/${created.body.id}/deliveries`,
        );
        return list.body.items.length >= 2 && list.body.items.every((d) => d.status !== 'pending') ? list : null;
      },
      { message: 'deliveries recorded' },
    );
    assert.ok(deliveries!.body.items.every((d) => d.status === 'delivered' && d.attempts === 1));

    const again = await http.post(`/api/projects/${project.id}/webhooks/${created.body.id}/deliveries/${change.deliveryId}/redeliver`);
    assert.is(again.status, 202);
    await ctx.receiver.waitFor((got) => got.filter((d) => d.deliveryId === change.deliveryId).length === 2);

    const ping = await http.post<{ delivered: boolean; statusCode: number }>(`/api/projects/${project.id}/webhooks/${created.body.id}/ping`);
    assert.equal([ping.body.delivered, ping.body.statusCode], [true, 204]);
  });

  test('a test run tells created, completed and its evaluation; the activity list shows it after a restart', async (ctx) => {
    const { http } = ctx.t;
    const { project, video, session } = await linkedSession(http);
    const hook = await http.post<WebhookBody>(`/api/projects/${project.id}/webhooks`, {
      url: ctx.receiver.url,
      events: ['test_run.created', 'test_run.completed', 'evaluation.ready'],
    });
    ctx.secret = hook.body.secret!;
    const run = await http.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'det', version: '1' } });
    assert.is(run.status, 201, run.text);
    assert.is((await http.post(`/api/test-runs/${run.body.id}/progress`, { processedFrames: 100, totalFrames: 100, status: 'completed' })).status, 200);
    await ctx.receiver.waitFor((got) => ['test_run.created', 'test_run.completed', 'evaluation.ready'].every((t) => got.some((d) => d.eventType === t)));
    const done = ctx.receiver.got.find((d) => d.eventType === 'test_run.completed')!;
    assert.is((done.event.data.run as { status: string }).status, 'completed');

    await ctx.t.stop();
    ctx.t = await startApiServer(ctx.storage, privateOk);
    const board = await jsonClient(ctx.t.url, ctx.t.adminToken).get<{ activity: Array<{ type: string; runId?: string }> }>(`/api/projects/${project.id}/dashboard`);
    const kinds = board.body.activity.filter((e) => e.runId === run.body.id).map((e) => e.type);
    assert.equal(kinds, ['run-started', 'run-finished']);
  });

  test('a webhook URL on a private address is refused with 422 naming the url unless allowed', async (ctx) => {
    const strict = await startApiServer(ctx.storage);
    try {
      const { project } = await linkedSession(strict.http);
      const res = await strict.http.post<{ error: { code: string; message: string; details: Array<{ field: string }> } }>(`/api/projects/${project.id}/webhooks`, {
        url: 'http://127.0.0.1:9/hook',
        events: ['session.created'],
      });
      assert.is(res.status, 422);
      assert.is(res.body.error.details[0]!.field, 'url');
      const ftp = await strict.http.post(`/api/projects/${project.id}/webhooks`, { url: 'ftp://example.com/', events: ['session.created'] });
      assert.is(ftp.status, 422);
      const unknownEvent = await strict.http.post(`/api/projects/${project.id}/webhooks`, { url: 'https://example.com/', events: ['session.exploded'] });
      assert.is(unknownEvent.status, 422);
    } finally {
      await strict.stop();
    }
  });

  test('the history names who moved a box over the socket and who relabelled it over REST', async (ctx) => {
    const { http } = ctx.t;
    const { session, project } = await linkedSession(http);
    const ada = await ctx.t.token({ sub: 'ada', name: 'Ada', projects: { [project.id]: 'annotator' } });
    const client = connectClient(ctx.t.url, `session:${session.id}`, { params: { token: ada } });
    try {
      await synced(client.provider);
      const box = addAnnotation(client.doc, { frame: 1, bbox: [10, 10, 20, 20], label: 'car' }, { by: 'ada' });
      await waitFor(async () => (await http.get(`/api/sessions/${session.id}/annotations/${box.id}`)).status === 200, { message: 'the box reached the server' });
      updateAnnotation(client.doc, box.id, { bbox: [15, 10, 20, 20] }, { by: 'ada' });
      await waitFor(async () => (await http.get<{ bbox: number[] }>(`/api/sessions/${session.id}/annotations/${box.id}`)).body.bbox?.[0] === 15, { message: 'the move reached the server' });
      const bob = jsonClient(ctx.t.url, await ctx.t.token({ sub: 'bob', name: 'Bob', projects: { [project.id]: 'annotator' } }));
      assert.is((await bob.patch(`/api/sessions/${session.id}/annotations/${box.id}`, { label: 'person' })).status, 200);
      await waitFor(() => getAnnotation(client.doc, box.id)?.label === 'person', { message: 'the relabel reached the client' });
      const history = (await waitFor(
        async () => {
          const res = await http.get<HistoryBody>(`/api/sessions/${session.id}/annotations/${box.id}/history`);
          return res.body.items.some((e) => e.by === 'bob') ? res.body.items : null;
        },
        { timeoutMs: 10_000, message: 'the relabel in the history' },
      ))!;
      assert.equal(history[0]!.kind, 'created');
      assert.equal([history[0]!.by, history[0]!.origin], ['ada', 'socket']);
      // A move within a second of the creation folds into it: either way the box's last position is Ada's.
      const moves = history.filter((e) => e.fields.bbox);
      assert.ok(moves.every((e) => e.by === 'ada' && e.origin === 'socket'));
      assert.equal(moves.at(-1)!.fields.bbox!.to, [15, 10, 20, 20]);
      const relabel = history.find((e) => e.by === 'bob')!;
      assert.equal([relabel.origin, relabel.fields.label], ['rest', { from: 'car', to: 'person' }]);
      const byBob = await http.get<HistoryBody>(`/api/sessions/${session.id}/history?by=bob`);
      assert.equal(byBob.body.items.map((e) => e.kind), ['changed']);
      // Forged cursors are a 400, never a 500 from the database's casts.
      const forge = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
      assert.is((await http.get(`/api/sessions/${session.id}/history?cursor=${forge(['2026-12-04T12:00:00.000Z', 'x'])}`)).status, 400);
      assert.is((await http.get(`/api/projects?cursor=${forge([1e300, 'x'])}`)).status, 400);
      assert.is((await http.get(`/api/projects/${project.id}/webhooks?cursor=${forge([5, 'x'])}`)).status, 400);
    } finally {
      client.destroy();
    }
  });

  test('the history outlives compaction of the update log', async (ctx) => {
    await ctx.t.stop();
    ctx.t = await startApiServer(ctx.storage, { ...privateOk, compactAfterRows: 2, compactMinIntervalMs: 0 });
    const { http } = ctx.t;
    const { session, project } = await linkedSession(http);
    const created = await http.post<{ id: string }>(`/api/sessions/${session.id}/annotations`, { frame: 0, bbox: [0, 0, 10, 10], label: 'car' });
    const users = ['ann', 'ben', 'cid', 'dee'];
    for (const [i, user] of users.entries()) {
      const as = jsonClient(ctx.t.url, await ctx.t.token({ sub: user, name: user, projects: { [project.id]: 'annotator' } }));
      assert.is((await as.patch(`/api/sessions/${session.id}/annotations/${created.body.id}`, { bbox: [i + 1, 0, 10, 10] })).status, 200);
    }
    const knex = ctx.t.knex;
    await waitFor(async () => (await knex('yjs_snapshots').where({ doc_name: `session:${session.id}` }).first()) !== undefined, { message: 'compacted' });
    const history = (await waitFor(async () => {
      const res = await http.get<HistoryBody>(`/api/sessions/${session.id}/annotations/${created.body.id}/history`);
      return res.body.items.length === users.length + 1 ? res.body.items : null;
    }, { timeoutMs: 10_000, message: 'every edit in the history' }))!;
    assert.equal(history.map((e) => e.by), ['test-admin', ...users]);
    assert.equal(history.at(-1)!.fields.bbox, { from: [3, 0, 10, 10], to: [4, 0, 10, 10] });
  });

  test.run();
}
