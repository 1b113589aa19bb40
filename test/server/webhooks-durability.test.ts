/**
 * Webhook delivery is at-least-once and never twice at a time: an event whose delivery was under
 * way when the server was killed with SIGKILL is delivered after the restart, once; two processes
 * on one Postgres deliver each event once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestStorage, startChildServer, testTokens, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { startReceiver } from '../../tools/webhook-receiver.ts';
import { jsonClient, linkedSession, startApiServer } from '../../tools/api.ts';

interface DeliveryPage {
  items: Array<{ id: string; status: string; attempts: number; eventType: string }>;
}

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage }>(`webhook durability (${kind})`);
  test.before.each(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
  });
  test.after.each(async (ctx) => ctx.storage.cleanup());

  test('an event not yet delivered when the server is killed with SIGKILL is delivered once after the restart', async (ctx) => {
    // A port nobody listens on yet: the first attempts are refused, so the delivery stays pending.
    const probe = await startReceiver({ secret: () => null });
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const env = { ...ctx.storage.env, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_MS: '200' };
    const admin = await testTokens.sign({ sub: 'test-admin', name: 'Admin', admin: true });
    let child = await startChildServer(env);
    let secret: string | null = null;
    const receiverUrl = `http://127.0.0.1:${port}/hook`;
    try {
      const http = jsonClient(child.url, admin);
      const { project } = await linkedSession(http);
      const hook = await http.post<{ id: string; secret: string }>(`/api/projects/${project.id}/webhooks`, { url: receiverUrl, events: ['session.status_changed'] });
      secret = hook.body.secret;
      const sessions = await http.get<{ items: Array<{ id: string }> }>(`/api/projects/${project.id}/sessions`);
      const target = sessions.body.items[0]!.id;
      assert.is((await http.patch(`/api/sessions/${target}`, { status: 'review' })).status, 200);
      const path = `/api/projects/${project.id}/webhooks/${hook.body.id}/deliveries`;
      const pending = (await waitFor(async () => {
        const page = await http.get<DeliveryPage>(path);
        const d = page.body.items[0];
        return d && d.status === 'pending' && d.attempts >= 1 ? d : null;
      }, { message: 'a refused attempt recorded' }))!;
      child.process.kill('SIGKILL');
      await child.exited;

      const receiver = await startReceiver({ secret: () => secret, port });
      try {
        child = await startChildServer(env);
        // On Postgres a lease the killed process held ends after the attempt timeout (10 s) + 5 s.
        await receiver.waitFor((got) => got.some((d) => d.deliveryId === pending.id), 30_000).catch((err: Error) => {
          throw new Error(`${err.message}\nserver said:\n${child.output()}`);
        });
        const after = jsonClient(child.url, admin);
        const delivered = (await waitFor(async () => {
          const d = (await after.get<DeliveryPage>(path)).body.items.find((x) => x.id === pending.id);
          return d?.status === 'delivered' ? d : null;
        }, { message: 'recorded as delivered' }))!;
        assert.ok(delivered.attempts > pending.attempts);
        assert.is(receiver.got.filter((d) => d.deliveryId === pending.id).length, 1);
        assert.ok(receiver.got[0]!.signatureValid);
        assert.equal(receiver.got[0]!.event.data.to, 'review');
      } finally {
        await receiver.close();
      }
    } finally {
      child.process.kill('SIGKILL');
      await child.exited;
    }
  });

  if (kind === 'postgres') {
    test('two processes on one database deliver every event once', async (ctx) => {
      let secret: string | null = null;
      const receiver = await startReceiver({ secret: () => secret });
      const overrides = { webhooks: { allowPrivate: true, retryBaseMs: 50 } };
      const a = await startApiServer(ctx.storage, overrides);
      const b = await startApiServer(ctx.storage, overrides);
      try {
        const { project, video } = await linkedSession(a.http);
        const hook = await a.http.post<{ secret: string }>(`/api/projects/${project.id}/webhooks`, { url: receiver.url, events: ['session.created'] });
        secret = hook.body.secret;
        const count = 20;
        await Promise.all(
          Array.from({ length: count }, (_, i) => (i % 2 ? a : b).http.post(`/api/projects/${project.id}/sessions`, { videoId: video.id, name: `s${i}` })),
        );
        await receiver.waitFor((got) => got.length >= count, 20_000);
        const ids = receiver.got.map((d) => d.deliveryId);
        assert.is(new Set(ids).size, ids.length, 'no delivery twice');
        assert.is(ids.length, count);
        assert.ok(receiver.got.every((d) => d.signatureValid));
      } finally {
        await a.stop();
        await b.stop();
        await receiver.close();
      }
    });
  }

  test.run();
}
