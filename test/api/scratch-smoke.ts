// TEMP scratch (issue 3 helper), deleted before report.
import http from 'node:http';
import * as Y from 'yjs';
import { openDatabase } from '../../persistence/database.ts';
import { createUpdateLog } from '../../persistence/update-log.ts';
import { createDocStore } from '../../persistence/doc-store.ts';
import { silentLogger } from '../../persistence/logger.ts';
import { makeConfig } from '../../server/config.ts';
import { DocRegistry } from '../../server/doc-registry.ts';
import { SyncEndpoint, allowEveryone } from '../../server/sync-endpoint.ts';
import { createApp } from '../../server/http/app.ts';
import { createApi } from '../../server/api/index.ts';

export async function startScratch(dataDir = 'memory://') {
  const config = makeConfig({ port: 0, logLevel: 'silent' });
  const logger = { ...silentLogger, error: (o: object | string, m?: string) => console.error('ERR', o, m), warn: (o: object | string, m?: string) => console.error('WARN', o, m) };
  const db = await openDatabase({ dataDir });
  const log = createUpdateLog({ knex: db.knex, intervalMs: 20, logger });
  const store = createDocStore({ knex: db.knex, logger, merge: async (u) => Y.mergeUpdates(u) });
  let registry!: DocRegistry;
  const api = createApi({ db, registry: () => registry, logger, config });
  registry = new DocRegistry({ store, log, limits: config.limits, compactAfterRows: 500, logger, hooks: api.hooks });
  const sync = new SyncEndpoint({ registry, limits: config.limits, logger, authorize: allowEveryone });
  const app = createApp({ logger, health: async () => ({ ok: true, database: { kind: 'x', reachable: true }, documents: 0, connections: 0 }), routers: api.routers });
  const server = http.createServer(app.callback());
  server.on('upgrade', sync.handleUpgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, api, registry, db,
    stop: async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); sync.closeAll(); await log.flush(); await registry.close(); await log.close(); await api.close(); await db.close(); },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startScratch();
  const j = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(s.url + path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    console.log(method, path, res.status, text.slice(0, 400));
    return text ? JSON.parse(text) : null;
  };
  const p = await j('POST', '/api/projects', { name: 'P', labels: [{ name: 'car' }, { name: 'person', color: '#f00' }], criteria: { tags: ['night'], minWidth: 1280 } });
  const v = await j('POST', '/api/videos', { name: 'night-1', uri: 's3://x', width: 1920, height: 1080, fps: 25, frameCount: 100, tags: ['night'], checksum: 'abc' });
  await j('POST', '/api/videos', { name: 'day-1', uri: 's3://y', width: 640, height: 480, fps: 25, frameCount: 100, tags: ['day'], checksum: 'abc' });
  await j('GET', '/api/videos?unassigned=true&tag=night');
  await j('GET', `/api/projects/${p.id}/videos/suggestions`);
  await j('POST', `/api/projects/${p.id}/sessions`, { videoId: v.id });
  await j('POST', `/api/projects/${p.id}/videos`, { videoIds: [v.id] });
  await j('GET', `/api/projects/${p.id}/videos/suggestions`);
  const sess = await j('POST', `/api/projects/${p.id}/sessions`, { videoId: v.id });
  await j('POST', `/api/sessions/${sess.id}/annotations`, { frame: 3, bbox: [1, 2, 30, 40], label: 'car' });
  await j('POST', `/api/sessions/${sess.id}/annotations`, { frame: 300, bbox: [1, 2, -30, 40], label: 'cat' });
  await j('POST', `/api/sessions/${sess.id}/annotations`, [{ frame: 3, bbox: [1, 2, 30, 40], label: 'car' }, { frame: 300, bbox: [1, 2, 30, 40], label: 'car' }]);
  await j('POST', `/api/sessions/${sess.id}/annotations`, { frame: 'x' });
  const t = await j('POST', `/api/sessions/${sess.id}/tracks`, { label: 'person' });
  await j('POST', `/api/sessions/${sess.id}/annotations`, [{ frame: 0, bbox: [0, 0, 10, 10], label: 'person', trackId: t.id }, { frame: 4, bbox: [40, 0, 10, 10], label: 'person', trackId: t.id }]);
  await j('GET', `/api/sessions/${sess.id}/annotations?frame=2&expand=tracks`);
  await j('GET', `/api/sessions/${sess.id}/annotations?limit=2`);
  await s.api.projection.flush();
  await j('GET', `/api/sessions/${sess.id}`);
  await j('GET', `/api/projects/${p.id}/ground-truth/videos`);
  await j('DELETE', `/api/projects/${p.id}/videos/${v.id}`);
  const doc = await j('GET', '/api/openapi.json');
  console.log(Object.keys(doc.paths).length, 'paths');
  await j('GET', '/docs');
  const r = await fetch(s.url + '/docs/swagger-ui-bundle.js'); console.log('bundle', r.status, (await r.arrayBuffer()).byteLength);
  await s.stop();
}
