/**
 * The OpenAPI document lists every mounted route with its schemas, and /docs renders it with
 * swagger-ui served from node_modules (no CDN).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Api } from '../../server/api/index.ts';
import { openApiPath } from '../../server/api/route.ts';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { startApiServer, type ApiTestServer } from '../../tools/api.ts';

interface Ctx {
  api: Api;
  storage: TestStorage;
  t: ApiTestServer;
}

type OpenApiDoc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; responses: Record<string, unknown> }>>;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** `METHOD /openapi/path` for every route the API answers (HEAD is implied by GET). */
function mounted(api: Api): string[] {
  return api
    .mounted()
    .filter((route) => route.method !== 'HEAD')
    .map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`)
    .sort();
}

function documented(doc: OpenApiDoc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m} ${path}`))
    .sort();
}

const test = suite<Ctx>('OpenAPI and /docs');
test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.t = await startApiServer(ctx.storage);
  ctx.api = ctx.t.api;
});
test.after(async (ctx) => {
  await ctx.t.stop();
  await ctx.storage.cleanup();
});

test('GET /api/openapi.json is OpenAPI 3.1 and lists exactly the mounted routes', async ({ api, t }) => {
  const res = await t.http.get<OpenApiDoc>('/api/openapi.json');
  assert.is(res.status, 200);
  assert.is(res.body.openapi, '3.1.0');
  const routes = mounted(api);
  assert.ok(routes.length >= 35, `${routes.length} routes`);
  assert.equal(documented(res.body), routes);
  const ids = Object.values(res.body.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
  assert.is(new Set(ids).size, ids.length, 'operation ids are unique');
});

test('each operation carries its parameters, body and error responses from the same schemas', async ({ t }) => {
  const doc = (await t.http.get<OpenApiDoc>('/api/openapi.json')).body;
  const list = doc.paths['/api/sessions/{sessionId}/annotations']?.get;
  const names = list?.parameters?.map((p) => `${p.in}:${p.name}`) ?? [];
  for (const expected of ['path:sessionId', 'query:frame', 'query:fromFrame', 'query:toFrame', 'query:label', 'query:trackId', 'query:detectionId', 'query:status', 'query:limit', 'query:cursor', 'query:expand']) {
    assert.ok(names.includes(expected), `${expected} documented`);
  }
  const create = doc.paths['/api/sessions/{sessionId}/annotations']?.post;
  assert.ok(create?.requestBody, 'request body documented');
  for (const status of ['201', '400', '404', '409', '413', '415', '422']) assert.ok(create?.responses[status], `${status} documented`);
  assert.ok(JSON.stringify(doc).includes('"AnnotationInput"'), 'shared schemas become components');
});

test('GET /docs renders swagger-ui from local files, never a CDN', async ({ t }) => {
  const page = await t.http.get('/docs');
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.not.match(page.text, /https?:\/\//, 'no external URL in the page');
  const srcs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
  assert.ok(srcs.length >= 4);
  for (const src of srcs) {
    const asset = await fetch(t.url + src);
    assert.is(asset.status, 200, src);
    await asset.arrayBuffer();
  }
  const init = await t.http.get('/docs/init.js');
  assert.match(init.text, /\/api\/openapi\.json/);
  assert.is((await t.http.get('/docs/..%2Fpackage.json')).status, 404);
  assert.is((await t.http.get('/docs/index.html')).status, 404, 'only the listed files');
});

test.run();
