/**
 * ALLOWED_ORIGINS governs both the socket upgrade's Origin (a browser on another origin
 * gets 4403) and CORS (headers only for the listed origins). Non-browser clients send no Origin.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { jsonClient, newSessionDoc } from '../../tools/api.ts';
import { alive, openSocket } from '../helpers/security.ts';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';

const test = suite<{ storage: TestStorage; app: TestServer; open: TestServer; docName: string; openDocName: string }>('allowed origins');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage, { allowedOrigins: [APP, 'http://localhost:5173'] });
  ctx.docName = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
});

test.after(async (ctx) => {
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

test('a socket from a listed origin, or with no Origin, opens; from any other origin it closes with 4403', async (ctx) => {
  for (const origin of [APP, undefined]) {
    const s = openSocket(ctx.app.url, ctx.docName, { token: ctx.app.adminToken, ...(origin ? { origin } : {}) });
    await s.opened;
    assert.ok(await alive(s), `origin ${String(origin)}`);
    s.ws.close();
    await s.closed;
  }
  for (const origin of [EVIL, 'https://app.example.evil.example', 'http://app.example', 'null']) {
    const s = openSocket(ctx.app.url, ctx.docName, { token: ctx.app.adminToken, origin });
    assert.is((await s.closed).code, 4403, origin);
    assert.is(s.messages.length, 0);
  }
});

test('CORS headers are sent only to listed origins', async (ctx) => {
  const http = jsonClient(ctx.app.url, ctx.app.adminToken);
  const allowed = await http.request('GET', '/api/projects', undefined, { headers: { origin: APP } });
  assert.is(allowed.status, 200);
  assert.is(allowed.headers.get('access-control-allow-origin'), APP);
  assert.match(allowed.headers.get('vary') ?? '', /Origin/);
  assert.match(allowed.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
  assert.is(allowed.headers.get('access-control-allow-credentials'), null, 'no ambient credentials');

  // Error answers carry them too, so a browser app can read why it was refused.
  const unauthorized = await jsonClient(ctx.app.url).request('GET', '/api/projects', undefined, { headers: { origin: APP } });
  assert.is(unauthorized.status, 401);
  assert.is(unauthorized.headers.get('access-control-allow-origin'), APP);

  const denied = await http.request('GET', '/api/projects', undefined, { headers: { origin: EVIL } });
  assert.is(denied.headers.get('access-control-allow-origin'), null);
  const none = await http.get('/api/projects');
  assert.is(none.headers.get('access-control-allow-origin'), null);
});

test('a preflight from a listed origin is answered 204 without a token; from another origin it gets no CORS headers', async (ctx) => {
  const anonymous = jsonClient(ctx.app.url);
  const preflight = (origin: string) =>
    anonymous.request('OPTIONS', '/api/projects', undefined, {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
  const ok = await preflight(APP);
  assert.is(ok.status, 204);
  assert.is(ok.headers.get('access-control-allow-origin'), APP);
  assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  assert.match(ok.headers.get('access-control-allow-methods') ?? '', /PATCH/);
  const refused = await preflight(EVIL);
  assert.is(refused.headers.get('access-control-allow-origin'), null);
  assert.is(refused.headers.get('access-control-allow-methods'), null);
});

test.run();

const open = suite<{ storage: TestStorage; app: TestServer; docName: string }>('no ALLOWED_ORIGINS');

open.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage);
  ctx.docName = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
});

open.after(async (ctx) => {
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

open('without a list no CORS headers are sent, and sockets from any origin still need their token', async (ctx) => {
  const res = await jsonClient(ctx.app.url, ctx.app.adminToken).request('GET', '/api/projects', undefined, { headers: { origin: EVIL } });
  assert.is(res.status, 200);
  assert.is(res.headers.get('access-control-allow-origin'), null);
  const s = openSocket(ctx.app.url, ctx.docName, { token: ctx.app.adminToken, origin: EVIL });
  await s.opened;
  assert.ok(await alive(s));
  s.ws.close();
  const anonymous = openSocket(ctx.app.url, ctx.docName, { origin: EVIL });
  assert.is((await anonymous.closed).code, 4401);
});

open.run();
