/**
 * Presence across processes on one Redis (docs/architecture.md, "More than one process"): it reaches
 * the other process's clients and later joiners, leaves with its client, and a client whose socket
 * drops and who comes back on the other process within the grace (PRESENCE_GRACE_MS) is never seen
 * to leave. Real servers, real stock y-websocket clients; skipped, and said so, without REDIS_URL
 * and DATABASE_URL (CI sets both).
 */
import * as assert from 'uvu/assert';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { waitFor } from '../../tools/databases.ts';
import { redisPairSuite } from '../helpers/redis-pair.ts';

const pair = redisPairSuite('redis presence', 'redis presence tests');
if (pair) {
  const { test, join, newSession } = pair;
  const nameOf = (client: TestClient, clientId: number) =>
    (client.provider.awareness.getStates().get(clientId) as { user?: { name?: string } } | undefined)?.user?.name;

  test('presence crosses processes, reaches later joiners, and leaves with its client', async (ctx) => {
    const name = `session:${(await newSession(ctx.a)).id}`;
    const onA = await join(ctx, ctx.a, name);
    const onB = await join(ctx, ctx.b, name);
    onA.provider.awareness.setLocalStateField('user', { name: 'ada' });
    const adaId = onA.doc.clientID;
    await waitFor(() => nameOf(onB, adaId) === 'ada', { message: "ada's presence never reached B" });
    const later = await join(ctx, ctx.b, name);
    await waitFor(() => nameOf(later, adaId) === 'ada', { message: 'a later joiner on B does not see ada' });
    onA.destroy();
    await waitFor(() => !onB.provider.awareness.getStates().has(adaId), { message: "ada's presence stayed on B after she left" });
  });

  test('a client whose socket to one process drops and who is back on the other within the grace is never seen to leave on the first', async (ctx) => {
    const name = `session:${(await newSession(ctx.a)).id}`;
    const [ada, cleo, watcher] = [await join(ctx, ctx.a, name), await join(ctx, ctx.a, name), await join(ctx, ctx.a, name)];
    ada.provider.awareness.setLocalStateField('user', { name: 'ada' });
    cleo.provider.awareness.setLocalStateField('user', { name: 'cleo' });
    await waitFor(() => nameOf(watcher, ada.doc.clientID) === 'ada' && nameOf(watcher, cleo.doc.clientID) === 'cleo');
    // Ada's way back, through B (a load balancer's choice): the same document, so the same client id.
    const back = connectClient(ctx.b.url, name, { doc: ada.doc, params: { token: ctx.b.adminToken } });
    ctx.clients.push(back);
    await synced(back.provider);
    const removed: number[] = [];
    watcher.provider.awareness.on('change', ({ removed: gone }: Record<string, number[]>) => removed.push(...gone!));
    const live = ctx.a.server.registry.get(name)!;
    // One after the other, so that Ada's grace on A ends first.
    for (const [client, left] of [[ada, 2], [cleo, 1]] as const) {
      // The socket closes without a word, as when the network drops.
      client.provider.shouldConnect = false;
      client.provider.ws!.close();
      await waitFor(() => live.peers.size === left, { message: 'A saw the socket close' });
    }
    back.provider.awareness.setLocalStateField('user', { name: 'ada' });
    // Cleo stays away and leaves when her grace on A ends; a departure of Ada's would come before.
    await waitFor(() => removed.includes(cleo.doc.clientID), { message: 'cleo is seen to leave' });
    assert.equal(removed, [cleo.doc.clientID], 'ada was never seen to leave on A');
    assert.is(nameOf(watcher, ada.doc.clientID), 'ada');
  });

  test.run();
}
