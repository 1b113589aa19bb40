import { updateAnnotation } from '../../docs-model/index.ts';
import { createTestStorage } from '../helpers/server.ts';
import { startApiServer, linkedSession } from '../helpers/api.ts';
import { connectClient, synced } from '../helpers/clients.ts';
const storage = await createTestStorage('pglite');
const t = await startApiServer(storage, process.env.NOCOMPACT ? { compactAfterRows: 1_000_000 } : {});
const { session } = await linkedSession(t.http, { video: { frameCount: 3000, width: 1920, height: 1080 } });
const inputs = Array.from({ length: 10000 }, (_, i) => ({ frame: i % 3000, bbox: [1, 1, 20, 20], label: 'car' }));
let t0 = performance.now();
const res = await t.http.post<{ items: Array<{ id: string }> }>(`/api/sessions/${session.id}/annotations`, inputs);
console.log('bulk', res.status, (performance.now() - t0).toFixed(0));
const count = async (where: Record<string, string>) => Number((await t.knex('annotations').where({ session_id: session.id, ...where }).count({ n: '*' }))[0]?.n);
t0 = performance.now();
while ((await count({})) < 10000) await new Promise((r) => setTimeout(r, 5));
console.log('bulk projected after', (performance.now() - t0).toFixed(0));
const clients = Array.from({ length: 10 }, () => connectClient(t.url, session.docName));
await Promise.all(clients.map((c) => synced(c.provider)));
console.log('synced');
const ids = res.body.items.slice(0, 1000).map((a) => a.id);
t0 = performance.now();
ids.forEach((id, i) => updateAnnotation(clients[i % 10]!.doc, id, { status: 'validated' }, 'b'));
console.log('sent in', (performance.now() - t0).toFixed(0));
let last = -1;
while (true) {
  const n = await count({ status: 'validated' });
  if (n !== last) { console.log(' ', (performance.now() - t0).toFixed(0), n); last = n; }
  if (n >= 1000) break;
  await new Promise((r) => setTimeout(r, 5));
}
for (const c of clients) c.destroy();
await t.stop(); await storage.cleanup();
