/**
 * Bad tokens are refused the same way everywhere: REST answers 401, the socket closes
 * with 4401 before any document is touched. Only `GET /health` and the OpenAPI document are open.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT } from 'jose';
import { createTokenService } from '../../server/services/tokens.ts';
import { createTestStorage, startTestServer, TEST_AUTH_SECRET, type TestServer, type TestStorage } from '../../tools/server.ts';
import { jsonClient } from '../../tools/http.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { waitFor } from '../../tools/databases.ts';
import { openSocket } from '../helpers/security.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const key = new TextEncoder().encode(TEST_AUTH_SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);

const test = suite<{ storage: TestStorage; app: TestServer; docName: string; bad: Array<[string, string]> }>('tokens');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage);
  ctx.docName = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
  const good = ctx.app.adminToken;
  const [header, payload, signature] = good.split('.') as [string, string, string];
  // Flip one bit inside the signature (not in its last character, whose low bits base64url ignores).
  const sigBytes = Buffer.from(signature, 'base64url');
  sigBytes[0] = sigBytes[0]! ^ 1;
  const adminClaims = { sub: 'mallory', admin: true };
  ctx.bad = [
    ['a forged signature', `${header}.${payload}.${sigBytes.toString('base64url')}`],
    ['an admin payload under a user token signature', `${header}.${b64({ ...adminClaims, iat: nowSeconds() })}.${signature}`],
    ['an expired token', await ctx.app.token({ sub: 'ada', admin: true }, { expiresIn: nowSeconds() - 60 })],
    ['an alg: none token', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...adminClaims, iat: nowSeconds() })}.`],
    ['an alg: none token with a signature', `${b64({ alg: 'none' })}.${b64(adminClaims)}.${signature}`],
    ['a token signed with another secret', await createTokenService('another-secret-0123456789abcdefghijkl').sign(adminClaims)],
    ['an HS512 token signed with the right secret', await new SignJWT(adminClaims).setProtectedHeader({ alg: 'HS512' }).sign(key)],
    ['a token without sub', await new SignJWT({ admin: true }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
    ['a token with an unknown role', await new SignJWT({ sub: 'x', projects: { p: 'owner' } }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
    ['a token whose admin claim is a string', await new SignJWT({ sub: 'x', admin: 'yes' }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
    ['a token that is not a JWT', 'not-a-jwt'],
    ['an empty three-part token', '..'],
  ];
});

test.after(async (ctx) => {
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

test('a request without a token is answered 401 with WWW-Authenticate, and a socket without one closes with 4401', async (ctx) => {
  const res = await jsonClient(ctx.app.url).get('/api/projects');
  assert.is(res.status, 401);
  assert.is(res.headers.get('www-authenticate'), 'Bearer');
  assert.is((res.body as { error: { code: string } }).error.code, 'unauthorized');
  const s = openSocket(ctx.app.url, ctx.docName);
  assert.is((await s.closed).code, 4401);
  assert.is(s.messages.length, 0, 'a refused socket receives no document content');
});

test('an Authorization header that is not "Bearer <token>" is answered 401', async (ctx) => {
  for (const header of [`Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', `Token ${ctx.app.adminToken}`, `Bearer ${ctx.app.adminToken} extra`]) {
    const res = await jsonClient(ctx.app.url).request('GET', '/api/projects', undefined, { headers: { authorization: header } });
    assert.is(res.status, 401, header);
  }
});

test('every bad token is answered 401 over REST and closed with 4401 on the socket', async (ctx) => {
  for (const [label, token] of ctx.bad) {
    const res = await jsonClient(ctx.app.url, token).get('/api/projects');
    assert.is(res.status, 401, `REST: ${label}`);
    const s = openSocket(ctx.app.url, ctx.docName, { token });
    const { code } = await s.closed;
    assert.is(code, 4401, `socket: ${label}`);
    assert.is(s.messages.length, 0, `socket: ${label} received nothing`);
  }
});

test('a valid token still works after the bad ones (nothing was cached wrongly)', async (ctx) => {
  const res = await jsonClient(ctx.app.url, ctx.app.adminToken).get('/api/projects');
  assert.is(res.status, 200);
});

test('a token that expires while cached is refused once it expired', async (ctx) => {
  const token = await ctx.app.token({ sub: 'ada', admin: true }, { expiresIn: nowSeconds() + 2 });
  const http = jsonClient(ctx.app.url, token);
  assert.is((await http.get('/api/projects')).status, 200);
  // Bounded poll: the verified-token cache must not outlive the token's `exp`.
  await waitFor(async () => (await http.get('/api/projects')).status === 401, { timeoutMs: 5000, message: 'expired token still accepted' });
  const s = openSocket(ctx.app.url, ctx.docName, { token });
  assert.is((await s.closed).code, 4401);
});

test('GET /health and the OpenAPI document need no token', async (ctx) => {
  const http = jsonClient(ctx.app.url);
  assert.is((await http.get('/health')).status, 200);
  assert.is((await http.get('/api/openapi.json')).status, 200);
  // A bad token on an open route does not turn it into a 401 either.
  assert.is((await jsonClient(ctx.app.url, 'garbage').get('/health')).status, 200);
});

test.run();
