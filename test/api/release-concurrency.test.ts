/**
 * A release under live edits, on each database: a real y-websocket client adds annotations in
 * pairs, one Yjs transaction per pair, while releases are made over REST in the middle of it.
 * Every release must hold whole transactions only (both boxes of a pair or neither) and a prefix
 * of the client's edits (they reach the server in order): each edit landed entirely before or
 * entirely after the release. The last release, made after the client's edits are all on the
 * server, holds everything and hashes like the session's final release.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addAnnotations, listAnnotations } from '../../docs-model/index.ts';
import { connectClient, synced } from '../../tools/clients.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { linkedSession, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

const PAIRS = 150;

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`release under concurrent live edits (${kind})`);
  withApiServer(test, kind);

  test('each release holds whole transactions and a prefix of the client edits racing it', async ({ t }) => {
    const { http } = t;
    const { session } = await linkedSession(http, { video: { frameCount: 1000 } });
    const client = connectClient(t.url, `session:${session.id}`, { params: { token: t.adminToken } });
    try {
      await synced(client.provider);
      const releases: Array<Promise<{ status: number; body: { id: string; counts: { annotations: number } } }>> = [];
      for (let i = 0; i < PAIRS; i++) {
        addAnnotations(
          client.doc,
          [
            { id: `p${String(i).padStart(3, '0')}a`, frame: i, bbox: [1, 1, 10, 10], label: 'car' },
            { id: `p${String(i).padStart(3, '0')}b`, frame: i, bbox: [20, 20, 10, 10], label: 'person' },
          ],
          { by: 'client' },
        );
        // Releases race the edits: requested while the client keeps sending, never awaited here.
        if (i % 30 === 10) releases.push(http.post(`/api/sessions/${session.id}/releases`, { name: `race-${i}` }));
        // Let the socket send this transaction before the next one is made.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const made = await Promise.all(releases);
      for (const r of made) assert.is(r.status, 201, JSON.stringify(r.body));
      // Every edit reached the server before the last release.
      await waitFor(async () => (await http.get<{ items: unknown[] }>(`/api/sessions/${session.id}/annotations?limit=500`)).body.items.length === 2 * PAIRS, { timeoutMs: 15_000, message: 'not every edit reached the server' });
      const last = await http.post<{ id: string; contentHash: string; counts: { annotations: number } }>(`/api/sessions/${session.id}/releases`, { name: 'after' });
      assert.is(last.status, 201, JSON.stringify(last.body));
      assert.is(last.body.counts.annotations, 2 * PAIRS);

      const sizes: number[] = [];
      for (const r of [...made.map((m) => m.body), last.body]) {
        const res = await fetch(`${t.url}/api/sessions/${session.id}/releases/${r.id}/export?format=json`, { headers: { authorization: `Bearer ${t.adminToken}` } });
        const ids = ((await res.json()) as { annotations: Array<{ id: string }> }).annotations.map((a) => a.id).sort();
        assert.is(ids.length % 2, 0, 'whole pairs only');
        const pairs = ids.length / 2;
        const expected = Array.from({ length: pairs }, (_, k) => [`p${String(k).padStart(3, '0')}a`, `p${String(k).padStart(3, '0')}b`]).flat();
        assert.equal(ids, expected, 'a prefix of the edits, each pair whole');
        assert.is(r.counts.annotations, ids.length);
        sizes.push(pairs);
      }
      // Which prefix each racing release got depends on timing; the last one has every pair.
      assert.is(sizes.at(-1), PAIRS, `pairs per release: ${sizes.join(', ')}`);
      // The client's document and the final release are the same ground truth.
      assert.is(listAnnotations(client.doc).length, 2 * PAIRS);
    } finally {
      client.destroy();
    }
  });

  test.run();
}
