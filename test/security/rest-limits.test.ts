/**
 * REST limits at the limit and one past it: the JSON body size (413, whether or not
 * Content-Length announces it), the content type (415), and requests per token per minute (429
 * with Retry-After).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { createProject, jsonClient } from '../../tools/api.ts';
import { DEFAULT_JSON_LIMIT } from '../../server/api/body.ts';

/** `{"description":"padded"}` followed by spaces up to exactly `bytes` bytes: valid JSON. */
const paddedJson = (bytes: number) => {
  const json = JSON.stringify({ description: 'padded' });
  return json + ' '.repeat(bytes - json.length);
};

/** A chunked request (no Content-Length), so the limit must hold while streaming. */
function chunkedPatch(url: string, path: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url + path,
      { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    // The server may answer 413 and close before we finished sending: that is the point.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
    req.end();
  });
}

{
  const test = suite<{ storage: TestStorage; app: TestServer; projectId: string }>('limits: REST bodies');

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('pglite');
    ctx.app = await startTestServer(ctx.storage);
    ctx.projectId = (await createProject(jsonClient(ctx.app.url, ctx.app.adminToken))).id;
  });

  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  const patch = (ctx: { app: TestServer; projectId: string }, raw: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    jsonClient(ctx.app.url, ctx.app.adminToken).request('PATCH', `/api/projects/${ctx.projectId}`, undefined, { headers, raw });

  test('a JSON body of exactly the limit is read; one byte more is answered 413', async (ctx) => {
    const atLimit = await patch(ctx, paddedJson(DEFAULT_JSON_LIMIT));
    assert.is(atLimit.status, 200, atLimit.text);
    const past = await patch(ctx, paddedJson(DEFAULT_JSON_LIMIT + 1));
    assert.is(past.status, 413);
    assert.match(past.text, /"too_large"/);
  });

  test('a chunked body past the limit is answered 413 too (no Content-Length to trust)', async (ctx) => {
    assert.is(await chunkedPatch(ctx.app.url, `/api/projects/${ctx.projectId}`, ctx.app.adminToken, paddedJson(DEFAULT_JSON_LIMIT)), 200);
    assert.is(await chunkedPatch(ctx.app.url, `/api/projects/${ctx.projectId}`, ctx.app.adminToken, paddedJson(DEFAULT_JSON_LIMIT + 1)), 413);
  });

  test('a body that is not application/json is answered 415; JSON with a charset is fine', async (ctx) => {
    const body = JSON.stringify({ description: 'typed' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const res = await patch(ctx, body, { 'content-type': type });
      assert.is(res.status, 415, type);
      assert.match(res.text, /"unsupported_media_type"/);
    }
    assert.is((await patch(ctx, body, {})).status, 415, 'no content type');
    assert.is((await patch(ctx, body, { 'content-type': 'application/json; charset=utf-8' })).status, 200);
    assert.is((await patch(ctx, body, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status, 415, 'compressed bodies');
  });

  test.run();
}

{
  const test = suite<{ storage: TestStorage; app: TestServer }>('limits: REST requests per minute');

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('pglite');
    ctx.app = await startTestServer(ctx.storage, { limits: { requestsPerMinute: 5 } });
  });

  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  test('requestsPerMinute requests of one token are served; one more is answered 429 with Retry-After', async (ctx) => {
    const busy = jsonClient(ctx.app.url, await ctx.app.token({ sub: 'busy', admin: true }));
    for (let i = 0; i < 5; i++) assert.is((await busy.get('/api/projects')).status, 200, `request ${i + 1}`);
    const refused = await busy.get('/api/projects');
    assert.is(refused.status, 429);
    assert.match(refused.text, /"too_many_requests"/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(retryAfter)}`);
    // Other tokens have their own count; the open routes are not counted.
    assert.is((await jsonClient(ctx.app.url, await ctx.app.token({ sub: 'calm', admin: true })).get('/api/projects')).status, 200);
    assert.is((await busy.get('/health')).status, 200);
    assert.is((await busy.get('/api/openapi.json')).status, 200);
  });

  test('requests without a token are counted per address', async (ctx) => {
    const anonymous = jsonClient(ctx.app.url);
    for (let i = 0; i < 5; i++) assert.is((await anonymous.get('/api/projects')).status, 401);
    const refused = await anonymous.get('/api/projects');
    assert.is(refused.status, 429);
    assert.ok(refused.headers.get('retry-after'));
  });

  test('a new bogus token per request does not escape the count: failed tokens count against the address', async (ctx) => {
    // The previous test used this address's five; a fresh window would allow five more at most.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await jsonClient(ctx.app.url, `bogus-${i}`).get('/api/projects')).status);
    assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`);
    // A valid token has its own count, unaffected by the address's failures.
    assert.is((await jsonClient(ctx.app.url, await ctx.app.token({ sub: 'fresh', admin: true })).get('/api/projects')).status, 200);
  });

  test.run();
}
